"""What the WebSocket client sends: straight to the socket while connected, held while
(re)connecting, and the requests (frames with a ``ref``) that wait for their reply."""

from __future__ import annotations

import asyncio
import itertools
import json
from typing import Any, Dict, List, Optional, Tuple, Union

import websockets.exceptions

from .errors import (
    ConnectionLostError,
    HubcastError,
    NotConnectedError,
    QueueFullError,
    RequestTimeoutError,
    server_error,
)

Payload = Union[str, bytes]
Ref = Union[str, int]


class Outbox:
    def __init__(self, max_queued: int, command_timeout: float) -> None:
        self._max_queued = max_queued
        self._command_timeout = command_timeout
        self._refs = itertools.count(1)
        #: The socket, once its ``connected`` frame arrived; ``None`` otherwise.
        self.ws: Optional[Any] = None
        #: Sends may be held (connecting or reconnecting); False once the client stopped.
        self.accepting = False
        #: Requests that wait for a reply, by ref (sent, or held below).
        self._pending: Dict[Ref, "asyncio.Future[Any]"] = {}
        #: Sends held until the next connection: (payload, ref or None).
        self._held: List[Tuple[Payload, Optional[int]]] = []

    @property
    def live(self) -> bool:
        return self.ws is not None

    async def write(self, payload: Payload) -> None:
        if self.ws is not None:
            try:
                await self.ws.send(payload)
                return
            except websockets.exceptions.ConnectionClosed:
                pass  # the socket died under us: hold it for the next connection below
        self._hold(payload, None)

    def _hold(self, payload: Payload, ref: Optional[int]) -> None:
        if not self.accepting:
            raise NotConnectedError("client is disconnected; call connect() first")
        if len(self._held) >= self._max_queued:
            raise QueueFullError(f"{len(self._held)} sends already wait for the connection (max_queued_messages)")
        self._held.append((payload, ref))

    async def send_request(self, frame: Dict[str, Any]) -> "asyncio.Future[Any]":
        """Send ``frame`` with a new ``ref``; the future settles with the reply's data or the error."""
        ref = next(self._refs)
        frame["ref"] = ref
        fut: "asyncio.Future[Any]" = asyncio.get_running_loop().create_future()
        payload = json.dumps(frame)
        if self.ws is not None:
            self._pending[ref] = fut
            try:
                await self.ws.send(payload)
                return fut
            except websockets.exceptions.ConnectionClosed:
                self._pending.pop(ref, None)
        self._hold(payload, ref)
        self._pending[ref] = fut
        return fut

    async def request(self, frame: Dict[str, Any], timeout: Optional[float]) -> Any:
        fut = await self.send_request(frame)
        ref = frame["ref"]
        limit = self._command_timeout if timeout is None else timeout
        try:
            return await asyncio.wait_for(fut, limit)
        except asyncio.TimeoutError:
            raise RequestTimeoutError(f"no reply to {frame.get('command') or frame['type']} within {limit} s", ref=ref) from None
        finally:
            self._pending.pop(ref, None)

    def settle(self, frame: Dict[str, Any]) -> bool:
        """A ``reply`` or ``error`` frame: settle its request. False when it answers none."""
        ref = frame.get("ref")
        if ref is None or isinstance(ref, bool):
            return False
        fut = self._pending.pop(ref, None)
        if fut is None:
            return False
        if not fut.done():
            if frame.get("type") == "reply":
                fut.set_result(frame.get("data"))
            else:
                fut.set_exception(server_error(frame.get("code"), frame.get("message", ""), ref=ref))
        return True

    async def flush(self) -> None:
        """Send what was held, in order (after the client re-joined its channels)."""
        held, self._held = self._held, []
        for payload, ref in held:
            ws = self.ws
            if ws is None:
                self._held.append((payload, ref))
                continue
            try:
                await ws.send(payload)
            except websockets.exceptions.ConnectionClosed:
                self._held.append((payload, ref))

    def suspend(self) -> None:
        """The socket is gone: requests on the wire fail with ``connection_lost``; held ones wait."""
        self.ws = None
        held_refs = {ref for _, ref in self._held if ref is not None}
        pending, self._pending = self._pending, {}
        for ref, fut in pending.items():
            if ref in held_refs:
                self._pending[ref] = fut  # not sent yet: goes out on the next connection
            elif not fut.done():
                fut.set_exception(ConnectionLostError("the connection dropped before the reply", ref=ref))

    def close(self, error: HubcastError) -> None:
        """The client stopped: everything that waits fails with ``error``."""
        self.ws = None
        self.accepting = False
        self._held = []
        pending, self._pending = self._pending, {}
        for fut in pending.values():
            if not fut.done():
                fut.set_exception(error)
