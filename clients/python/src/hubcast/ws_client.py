"""The WebSocket client: one connection to ``/realtime/ws`` with an explicit
state machine, reconnect with full-jitter backoff, and resume of every joined
channel from the last event id seen on it (docs/protocol.md, "WebSocket")."""

from __future__ import annotations

import asyncio
import json
from typing import Any, Awaitable, Callable, Dict, List, Optional, Tuple, Union

import websockets
import websockets.exceptions

from .backoff import MAX_RECONNECT_DELAY, MIN_RECONNECT_DELAY, backoff_delay
from .binary import BinaryMessage
from .dispatcher import Dispatcher
from .emitter import Emitter, F
from .errors import CancelledError as JoinCancelledError
from .errors import (
    ClosedError,
    ConnectionLostError,
    HubcastError,
    InvalidBinaryError,
    NotConnectedError,
    server_error,
)
from .outbox import Outbox
from .subscriptions import Subscription, accept
from .types import ConnectionState, JoinReply, SignalType, StateChange
from .urls import normalize_ws_url, with_query

#: Close codes after which reconnecting would only repeat the failure: a
#: deliberate close, a protocol or policy violation, a frame over the limit.
#: Everything else (1001, 1006, 1011, 1012 restart, 1013 slow consumer, …)
#: reconnects; 4001 (token expired) reconnects only with ``get_token``.
FINAL_CLOSE_CODES = frozenset({1000, 1002, 1003, 1007, 1008, 1009, 1010})
TOKEN_EXPIRED_CLOSE = 4001
#: The attempt failed on this side (timeout, refused upgrade, no route).
LOCAL_FAILURE = 4999

#: Upgrade refusals that a retry cannot cure (see docs/protocol.md, "Connecting").
_FINAL_STATUS = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found", 409: "peer_id_taken"}
_RETRY_STATUS = {429: "too_many_connections", 503: "not_ready"}

#: Frame types a client may send: ``send_json`` passes such a dict through as the frame itself.
CLIENT_FRAME_TYPES = frozenset({"command", "channel_message", "text", "json", "webrtc_signal"})

# websockets 14 replaced the client implementation; its connect() names the headers argument anew.
_HEADERS_KW = "additional_headers" if int(str(getattr(websockets, "__version__", "10")).split(".")[0]) >= 14 else "extra_headers"

TokenSource = Callable[[], Union[str, None, Awaitable[Optional[str]]]]


class WSClient:
    """hubcast WebSocket client.

    Sends made while ``connecting``/``reconnecting`` are queued (at most
    ``max_queued_messages``, then :class:`QueueFullError`) and go out after the
    channels are re-joined; sends while ``disconnected`` raise
    :class:`NotConnectedError`. Listeners run one after another in a task of
    their own, in the order the frames arrived, so a listener may await a
    command's reply.

    Example::

        client = WSClient("ws://localhost:8000/realtime/ws")

        @client.on_message("event")
        async def on_event(frame):
            print(frame["channel"], frame["event"], frame["data"])

        await client.connect()
        await client.send_command("join_channel", {"channel": "products"})
        ...
        await client.disconnect()
    """

    def __init__(
        self,
        url: str,
        *,
        token: Optional[str] = None,
        get_token: Optional[TokenSource] = None,
        token_transport: str = "header",
        headers: Optional[Dict[str, str]] = None,
        min_reconnect_delay: float = MIN_RECONNECT_DELAY,
        max_reconnect_delay: float = MAX_RECONNECT_DELAY,
        max_reconnect_attempts: Optional[int] = None,
        connect_timeout: float = 10.0,
        command_timeout: float = 10.0,
        max_queued_messages: int = 100,
        max_pending_messages: int = 10_000,
        max_message_bytes: int = 16 * 1024 * 1024,
    ) -> None:
        """
        :param url: ``ws(s)://host/realtime/ws``; an ``http(s)`` URL, or one without a path, is mapped to it.
        :param token: a JWT, sent as ``Authorization: Bearer`` (``token_transport="query"``: as ``?token=``).
        :param get_token: called before every connection attempt (sync or async); wins over ``token``.
        :param max_pending_messages: frames received but not yet handed to listeners; when full the
            client stops reading, and a server whose buffer then fills closes with 1013 (the client resumes).
        """
        if token_transport not in ("header", "query", "protocol"):
            raise ValueError("token_transport must be 'header', 'query' or 'protocol'")
        self.url = normalize_ws_url(url)
        self._token = token
        self._get_token = get_token
        self._token_transport = token_transport
        self._headers = dict(headers or {})
        self._min_delay = min_reconnect_delay
        self._max_delay = max_reconnect_delay
        self._max_attempts = max_reconnect_attempts
        self._connect_timeout = connect_timeout
        self._max_bytes = max_message_bytes

        self._emitter = Emitter()
        self._state: ConnectionState = "disconnected"
        self._ws: Optional[Any] = None
        self._stopping = False
        self._attempt = 0
        self._run_task: Optional["asyncio.Task[None]"] = None
        self._dispatcher = Dispatcher(self._emitter, max_pending_messages)
        self._connect_waiters: List["asyncio.Future[None]"] = []
        self._outbox = Outbox(max_queued_messages, command_timeout)
        self._subs: Dict[str, Subscription] = {}
        self.client_id: Optional[str] = None
        self.user_id: Optional[str] = None
        #: Where other peers send WebRTC signals to reach this connection; new on every connection.
        self.peer_id: Optional[str] = None

    # ---- public state ----------------------------------------------------

    @property
    def state(self) -> ConnectionState:
        return self._state

    @property
    def channels(self) -> List[str]:
        """Channels the client holds (joined, or to be re-joined on reconnect)."""
        return list(self._subs)

    def last_event_id(self, channel: str) -> Optional[str]:
        """Resume position of a channel: id of the last event delivered on it."""
        sub = self._subs.get(channel)
        return sub.last_id if sub else None

    # ---- listeners -------------------------------------------------------

    def on_message(self, type: str, fn: Optional[F] = None) -> Any:
        """Listen to server frames of one ``type`` (``event``, ``text``, ``json``, ``webrtc_signal``,
        ``connected``, ``error``, ``reply``, ``pong``), to ``binary`` messages (a :class:`BinaryMessage`),
        to ``recovery_failed`` notices, or to everything with ``"*"``. A decorator, or a plain call
        with the function; sync and async functions both work.

        ``error`` gets error frames that answer no pending command (those raise from the command
        instead) and binary frames that fail to parse.

        Example::

            @client.on_message("text")
            async def handle(frame):
                print(frame["data"])

            client.on_message("json", lambda frame: print(frame["data"]))
        """
        return self._emitter.on(type, fn) if fn is not None else self._emitter.on(type)

    def off_message(self, type: str, fn: Callable[..., Any]) -> None:
        self._emitter.off(type, fn)

    def on_state_change(self, fn: Optional[F] = None) -> Any:
        """Listen to :class:`StateChange`\\ s; called only on a real change."""
        return self._emitter.on("@state", fn) if fn is not None else self._emitter.on("@state")

    # ---- lifecycle -------------------------------------------------------

    async def connect(self) -> None:
        """Open the connection. Returns once the server's ``connected`` frame arrived; keeps
        retrying (with backoff) until then, and raises only when the client gives up
        (``max_reconnect_attempts``, a refusal a retry cannot cure, a final close code) or
        ``disconnect()`` is called."""
        if self._state == "connected":
            return
        loop = asyncio.get_running_loop()
        waiter: "asyncio.Future[None]" = loop.create_future()
        self._connect_waiters.append(waiter)
        if self._state == "disconnected":
            self._stopping = False
            self._outbox.accepting = True
            self._attempt = 0
            self._dispatcher.start()
            self._set_state("connecting", "connect() called")
            self._run_task = loop.create_task(self._run(), name="hubcast-ws")
        try:
            await waiter
        except asyncio.CancelledError:
            # Nobody waits for the connection any more (e.g. wait_for timed out): stop trying,
            # rather than reconnect in the background with no one to tell.
            if waiter in self._connect_waiters:
                self._connect_waiters.remove(waiter)
            if self.state != "connected" and not self._connect_waiters:
                self._abandon()
            raise
        finally:
            if waiter in self._connect_waiters:
                self._connect_waiters.remove(waiter)

    def _abandon(self) -> None:
        self._stopping = True
        task, ws = self._run_task, self._ws
        if task is not None and not task.done():
            task.cancel()
        if ws is not None:
            asyncio.get_running_loop().create_task(ws.close(1000, "connect() cancelled"))
        self._stop("connect() cancelled", None, ClosedError("connect() was cancelled"))

    async def disconnect(self) -> None:
        """Close for good: no reconnect. Frames that arrived before the server's close are still
        handed to listeners before this returns. Pending commands and queued sends raise
        :class:`ClosedError`. Joined channels are kept, so a later ``connect()`` resumes them."""
        if self._state == "disconnected":
            return
        self._stopping = True
        ws, task = self._ws, self._run_task
        if ws is not None:
            # The close handshake: what the server sent before its close frame is still read.
            await ws.close(1000, "client disconnect")
        if task is not None and task is not asyncio.current_task():
            if ws is None:
                task.cancel()  # backing off or opening: nothing to read any more
            done, _ = await asyncio.wait({task}, timeout=self._connect_timeout)
            if not done:
                task.cancel()
        dispatcher = self._dispatcher.task
        self._stop("disconnect() called", None, ClosedError("client disconnected"))
        if dispatcher is not None and dispatcher is not asyncio.current_task():
            await asyncio.wait({dispatcher})  # listeners have seen everything that arrived

    async def __aenter__(self) -> "WSClient":
        await self.connect()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.disconnect()

    # ---- sending ---------------------------------------------------------

    async def send_text(self, text: str) -> None:
        """Send ``{"type":"text","data":text}``; the server echoes it as a ``text`` frame."""
        await self._outbox.write(json.dumps({"type": "text", "data": text}))

    async def send_json(self, data: Any) -> None:
        """Send a JSON value; the server echoes it as a ``json`` frame.

        A dict whose ``type`` is a client frame type (``channel_message``, ``command``, ``text``,
        ``json``, ``webrtc_signal``) is sent as that frame, as is: refusals of it arrive as
        ``error`` frames. Anything else goes as ``{"type":"json","data":data}``.
        """
        if isinstance(data, dict) and data.get("type") in CLIENT_FRAME_TYPES:
            await self._outbox.write(json.dumps(data))
        else:
            await self._outbox.write(json.dumps({"type": "json", "data": data}))

    async def send_command(self, command: str, data: Any = None, *, timeout: Optional[float] = None) -> Any:
        """Send a command and return its reply's ``data``. Raises the server's error as a
        :class:`ServerError` subclass, or :class:`RequestTimeoutError`, :class:`ConnectionLostError`
        (the socket dropped before the reply), :class:`ClosedError`.

        ``join_channel`` and ``leave_channel`` go through :meth:`join_channel` /
        :meth:`leave_channel`, so a channel joined this way is resumed after a reconnect.
        """
        if command == "join_channel" and isinstance(data, dict) and isinstance(data.get("channel"), str) and set(data) <= {"channel", "since"}:
            since = data.get("since")
            return await self.join_channel(data["channel"], since=None if since is None else str(since))
        if command == "leave_channel" and isinstance(data, dict) and isinstance(data.get("channel"), str) and set(data) == {"channel"}:
            return await self.leave_channel(data["channel"])
        frame: Dict[str, Any] = {"type": "command", "command": command}
        if data is not None:
            frame["data"] = data
        return await self._outbox.request(frame, timeout)

    async def join_channel(self, channel: str, *, since: Optional[str] = None) -> JoinReply:
        """Join a channel; returns the server's reply once joined (after a reconnect if one is
        under way). The channel is re-joined, with ``since``, after every reconnect until
        ``leave_channel``. ``since`` resumes from an event id the application kept."""
        if self._state == "disconnected":
            raise NotConnectedError(f"cannot join {channel}: client is disconnected; call connect() first")
        sub = self._subs.get(channel)
        if sub is None:
            sub = self._subs[channel] = Subscription(channel)
        if since is not None and sub.last_id is None:
            sub.last_id = since
        if sub.joined and since is None:
            return {"channel": channel}
        waiter: "asyncio.Future[JoinReply]" = asyncio.get_running_loop().create_future()
        sub.waiters.append(waiter)
        if self._outbox.live and (not sub.in_flight or sub.joined):
            await self._send_join(sub)
        return await waiter

    async def leave_channel(self, channel: str) -> Dict[str, Any]:
        """Leave a channel and forget its resume position."""
        sub = self._subs.pop(channel, None)
        if sub is not None:
            sub.settle(None, JoinCancelledError(f"leave_channel({channel}) called before the join completed"))
        if not self._outbox.live or (sub is not None and not sub.joined and not sub.in_flight):
            return {"channel": channel}
        result = await self._outbox.request({"type": "command", "command": "leave_channel", "data": {"channel": channel}}, None)
        return result if isinstance(result, dict) else {"channel": channel}

    async def publish(self, channel: str, message: Any) -> Dict[str, Any]:
        """Publish to a channel (``channel_message``); returns the event's ``id`` and ``delivered``."""
        result = await self._outbox.request({"type": "channel_message", "channel": channel, "message": message}, None)
        return result if isinstance(result, dict) else {}

    async def send_binary(self, message: BinaryMessage) -> None:
        """Send a binary message: with a ``channel`` to that channel's WebSocket subscribers,
        without one echoed back (listen with ``on_message("binary")``)."""
        await self._outbox.write(message.encode())

    async def send_webrtc_signal(
        self,
        signal_type: SignalType,
        target_peer_id: str,
        sdp: Any = None,
        candidate: Any = None,
        *,
        timeout: Optional[float] = None,
    ) -> None:
        """Relay a WebRTC signal to the connection holding ``target_peer_id`` (a peer id: another
        ``/realtime/ws`` connection's :attr:`peer_id`, or a signaling endpoint's ``peer_id``).
        Returns once relayed; raises :class:`PeerNotFoundError` when no connection holds it."""
        frame: Dict[str, Any] = {"type": "webrtc_signal", "signal_type": signal_type, "target_peer_id": target_peer_id}
        if sdp is not None:
            frame["sdp"] = sdp
        if candidate is not None:
            frame["candidate"] = candidate
        await self._outbox.request(frame, timeout)

    # ---- internals: sending ---------------------------------------------

    async def _send_join(self, sub: Subscription) -> None:
        sub.in_flight = True
        data: Dict[str, Any] = {"channel": sub.channel}
        if sub.last_id is not None:
            data["since"] = sub.last_id
        try:
            fut = await self._outbox.send_request({"type": "command", "command": "join_channel", "data": data})
        except HubcastError as err:
            sub.in_flight = False
            sub.settle(None, err)
            return
        fut.add_done_callback(lambda f: self._joined(sub, f))

    def _joined(self, sub: Subscription, fut: "asyncio.Future[Any]") -> None:
        if fut.cancelled():
            return
        err = fut.exception()
        if isinstance(err, (ConnectionLostError, ClosedError)):
            return  # the next connection re-joins; its reply settles the waiters
        sub.in_flight = False
        if err is not None:
            if self._subs.get(sub.channel) is sub:
                del self._subs[sub.channel]
            sub.settle(None, err)
            return
        if self._subs.get(sub.channel) is not sub:
            return  # left meanwhile
        sub.joined = True
        reply = fut.result() if isinstance(fut.result(), dict) else {"channel": sub.channel}
        # A channel with no event seen yet resumes from the position the server gave.
        last_id = reply.get("last_id")
        if sub.last_id is None and isinstance(last_id, str) and last_id.isdigit():
            sub.last_id = last_id
        sub.settle(reply)

    # ---- internals: connection ------------------------------------------

    def _set_state(self, to: ConnectionState, reason: Optional[str] = None, close_code: Optional[int] = None) -> None:
        previous = self._state
        if previous == to:
            return
        self._state = to
        self._dispatcher.put_nowait("@state", StateChange(previous, to, reason, close_code))

    async def _token_now(self) -> Optional[str]:
        if self._get_token is None:
            return self._token
        value = self._get_token()
        if asyncio.iscoroutine(value) or isinstance(value, asyncio.Future):
            value = await value
        return value  # type: ignore[return-value]

    async def _run(self) -> None:
        try:
            await self._reconnect_loop()
        except asyncio.CancelledError:
            raise
        except Exception as err:  # noqa: BLE001 - a bug here must not leave connect() waiting forever
            self._stop(f"client failed: {err!r}", None, ClosedError(f"client failed: {err!r}"))
            raise

    async def _reconnect_loop(self) -> None:
        while True:
            code, reason, final_error = await self._connect_once()
            if self._stopping:
                return
            expired_without_refresh = code == TOKEN_EXPIRED_CLOSE and self._get_token is None
            if final_error is not None or code in FINAL_CLOSE_CODES or expired_without_refresh:
                error = final_error or ClosedError(f"connection closed with {code}: {reason}")
                self._stop(f"closed with {code}: {reason}", code, error)
                return
            if self._max_attempts is not None and self._attempt >= self._max_attempts:
                self._stop(
                    f"gave up after {self._attempt} attempts",
                    code,
                    ClosedError(f"gave up reconnecting after {self._attempt} attempts (last close {code}: {reason})"),
                )
                return
            delay = backoff_delay(self._attempt, self._min_delay, self._max_delay)
            self._attempt += 1
            self._set_state("reconnecting", reason, code)
            await asyncio.sleep(delay)

    async def _connect_once(self) -> Tuple[int, str, Optional[HubcastError]]:
        """One attempt and, once open, the read loop. Returns (close code, reason, final error)."""
        try:
            token = await self._token_now()
        except Exception as err:  # noqa: BLE001 - the app's token source failed: retry later
            return LOCAL_FAILURE, f"get_token failed: {err}", None
        url, headers, subprotocols = self.url, dict(self._headers), None
        if token:
            if self._token_transport == "query":
                url = with_query(url, {"token": token})
            elif self._token_transport == "protocol":
                subprotocols = [f"bearer.{token}"]
            else:
                headers["Authorization"] = f"Bearer {token}"
        try:
            ws = await websockets.connect(  # type: ignore[attr-defined]
                url,
                **{_HEADERS_KW: headers},
                subprotocols=subprotocols,
                open_timeout=self._connect_timeout,
                max_size=self._max_bytes,
                compression=None,
                close_timeout=2,
            )
        except websockets.exceptions.InvalidURI as err:
            return LOCAL_FAILURE, str(err), ClosedError(f"cannot open {self.url}: {err}")
        except websockets.exceptions.InvalidHandshake as err:
            status = _status_of(err)
            if status is None:
                return LOCAL_FAILURE, f"handshake failed: {err!r}", None
            if status in _FINAL_STATUS and not (status == 401 and self._get_token is not None):
                return LOCAL_FAILURE, f"upgrade refused with HTTP {status}", server_error(
                    _FINAL_STATUS[status], f"WebSocket upgrade to {self.url} refused with HTTP {status}", status=status
                )
            return LOCAL_FAILURE, f"upgrade refused with HTTP {status} ({_RETRY_STATUS.get(status, 'retrying')})", None
        except (OSError, asyncio.TimeoutError, websockets.exceptions.WebSocketException) as err:
            return LOCAL_FAILURE, f"cannot connect: {err!r}", None
        if self._stopping:
            await ws.close(1000, "client disconnect")
            return 1000, "client disconnect", None
        self._ws = ws
        try:
            first = await asyncio.wait_for(ws.recv(), self._connect_timeout)
            await self._receive(first)
            if not self._outbox.live:
                await ws.close(1002, "expected a connected frame")
                return LOCAL_FAILURE, "the first frame was not a connected frame", None
            async for message in ws:
                await self._receive(message)
        except asyncio.TimeoutError:
            await ws.close(1000, "no connected frame")
            return LOCAL_FAILURE, f"no connected frame within {self._connect_timeout} s", None
        except websockets.exceptions.ConnectionClosed:
            pass  # the close code below says what happened
        finally:
            self._dropped()
        code = ws.close_code if ws.close_code is not None else 1006
        return code, ws.close_reason or f"closed with {code}", None

    def _welcome(self) -> None:
        """The ``connected`` frame: the connection is usable. Re-join, flush, then announce."""
        self._outbox.ws = self._ws
        self._attempt = 0
        asyncio.get_running_loop().create_task(self._after_welcome(), name="hubcast-ws-welcome")

    async def _after_welcome(self) -> None:
        # Joins first and held sends next, so a send made while reconnecting reaches a channel
        # the client is back in; the state change comes last.
        for sub in list(self._subs.values()):
            await self._send_join(sub)
        await self._outbox.flush()
        if not self._outbox.live:
            return
        self._set_state("connected", "connected")
        waiters, self._connect_waiters = self._connect_waiters, []
        for w in waiters:
            if not w.done():
                w.set_result(None)

    def _dropped(self) -> None:
        self._ws = None
        for sub in self._subs.values():
            sub.joined = False
            sub.in_flight = False
        self._outbox.suspend()

    def _stop(self, reason: str, close_code: Optional[int], error: HubcastError) -> None:
        """Enter ``disconnected``: fail everything that waits."""
        if self._state == "disconnected":
            return
        self._stopping = True
        self._run_task = None
        for sub in self._subs.values():
            sub.joined = sub.in_flight = False
            sub.settle(None, error)
        self._outbox.close(error)
        waiters, self._connect_waiters = self._connect_waiters, []
        self._set_state("disconnected", reason, close_code)
        self._dispatcher.release()
        for w in waiters:
            if not w.done():
                w.set_exception(error)

    # ---- internals: receiving -------------------------------------------

    async def _receive(self, message: Union[str, bytes]) -> None:
        if isinstance(message, (bytes, bytearray, memoryview)):
            try:
                binary = BinaryMessage.decode(message)
            except InvalidBinaryError as err:
                await self._dispatcher.put("error", {"type": "error", "code": err.code, "message": err.message})
                return
            await self._dispatcher.put("binary", binary)
            return
        try:
            frame = json.loads(message)
        except ValueError as err:
            await self._dispatcher.put("error", {"type": "error", "code": "invalid_json", "message": f"server sent a frame that is not JSON: {err}"})
            return
        if not isinstance(frame, dict):
            return
        kind = frame.get("type")
        if kind == "connected":
            self.client_id = frame.get("client_id")
            self.user_id = frame.get("user_id")
            self.peer_id = frame.get("peer_id")
            if not self._outbox.live:
                self._welcome()
        elif kind == "event":
            channel = frame.get("channel")
            data = frame.get("data")
            if frame.get("event") == "system" and frame.get("id") is None and isinstance(data, dict) and data.get("type") == "recovery_failed":
                notice: Dict[str, Any] = {"type": "recovery_failed", "channel": channel}
                if isinstance(data.get("reason"), str):
                    notice["reason"] = data["reason"]
                await self._dispatcher.put("recovery_failed", notice, frame)
                return
            if not accept(self._subs, channel, frame.get("id")):
                return  # replayed twice
        elif kind in ("reply", "error"):
            if self._outbox.settle(frame):
                return
        await self._dispatcher.put(str(kind), frame)

def _status_of(err: Exception) -> Optional[int]:
    """The HTTP status of a refused upgrade, on websockets 10 to 14+."""
    status = getattr(err, "status_code", None)
    if status is None:
        response = getattr(err, "response", None)
        status = getattr(response, "status_code", None)
    return status if isinstance(status, int) else None


def create_ws_client(url: str = "ws://localhost:8000/realtime/ws", token: Optional[str] = None, **options: Any) -> WSClient:
    """A :class:`WSClient`, authenticated with ``token`` when given.

    Example::

        client = create_ws_client(url="ws://localhost:8000/realtime/ws", token="your-jwt-token")
        await client.connect()
    """
    return WSClient(url, token=token, **options)


__all__ = ["WSClient", "create_ws_client", "normalize_ws_url"]
