"""The SSE client: ``GET /realtime/events`` with ``Last-Event-ID`` resume, the server's
``retry:`` honoured, heartbeats tolerated (docs/protocol.md, "SSE")."""

from __future__ import annotations

import asyncio
import json
from typing import Any, Awaitable, Callable, Dict, List, Optional, Union

import httpx

from .backoff import MAX_RECONNECT_DELAY, MIN_RECONNECT_DELAY, backoff_delay
from .emitter import Emitter, F
from .errors import ClosedError, ServerError, server_error
from .sse_parser import RawEvent, SSEParser
from .types import ConnectionState, ServerSentEvent, StateChange
from .urls import normalize_sse_url

#: Refusals a retry cannot cure: a bad request, auth, a forbidden channel, SSE switched off.
_FINAL_STATUS = frozenset({400, 401, 403, 404, 405})
_STATUS_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "bad_request", 429: "too_many_connections", 503: "not_ready"}

TokenSource = Callable[[], Union[str, None, Awaitable[Optional[str]]]]


class SSEClient:
    """hubcast SSE client.

    :meth:`connect` opens the stream and listens until :meth:`close` (reconnecting with
    ``Last-Event-ID`` whenever the stream ends); :meth:`start` does the same in a background
    task and returns once the stream is open.

    Listeners get a :class:`ServerSentEvent`; ``on_event(name)`` takes the SSE event name
    (``message`` for unnamed events), ``system`` for the gateway's notices,
    ``recovery_failed`` for a resume that could not replay everything, or ``"*"``.

    Example::

        client = create_sse_client("http://localhost:8000/realtime/events?channels=products")

        @client.on_event("product.updated")
        async def on_update(event):
            print(event.id, event.data)

        await client.start()
        ...
        await client.close()
    """

    def __init__(
        self,
        url: str,
        *,
        channels: Optional[List[str]] = None,
        token: Optional[str] = None,
        get_token: Optional[TokenSource] = None,
        last_event_id: Optional[str] = None,
        headers: Optional[Dict[str, str]] = None,
        min_reconnect_delay: float = MIN_RECONNECT_DELAY,
        max_reconnect_delay: float = MAX_RECONNECT_DELAY,
        max_reconnect_attempts: Optional[int] = None,
        connect_timeout: float = 10.0,
        read_timeout: float = 45.0,
    ) -> None:
        """
        :param url: the gateway (``http://host:8000``) or its stream URL (``…/realtime/events?channels=a,b``).
        :param channels: the channels (overrides ``channels=`` in the URL).
        :param last_event_id: resume from this event id on the first connection.
        :param read_timeout: seconds without a byte (the gateway sends a heartbeat every 15 s) after
            which the stream counts as dead and is reopened.
        """
        self.url = normalize_sse_url(url, channels)
        self._token = token
        self._get_token = get_token
        self._headers = dict(headers or {})
        self._min_delay = min_reconnect_delay
        self._max_delay = max_reconnect_delay
        self._max_attempts = max_reconnect_attempts
        self._timeout = httpx.Timeout(connect=connect_timeout, read=read_timeout, write=connect_timeout, pool=connect_timeout)
        self._emitter = Emitter()
        self._state: ConnectionState = "disconnected"
        self._last_event_id = last_event_id
        self._closing = False
        self._runner: Optional["asyncio.Task[Any]"] = None
        #: The task start() made (a task connect() runs in belongs to the caller).
        self._owned: Optional["asyncio.Task[Any]"] = None
        self._connected: Optional[asyncio.Event] = None
        self._attempt = 0
        #: The server's ``retry:`` hint, in seconds.
        self.retry: Optional[float] = None
        self.client_id: Optional[str] = None
        #: Heartbeat comments seen over the client's life.
        self.heartbeats = 0
        #: Streams opened (the first one and every reconnect).
        self.connections = 0

    @property
    def state(self) -> ConnectionState:
        return self._state

    @property
    def last_event_id(self) -> Optional[str]:
        """Id of the last channel event delivered: where a new stream resumes."""
        return self._last_event_id

    def on_event(self, name: str, fn: Optional[F] = None) -> Any:
        """Listen to events named ``name``; a decorator, or a plain call with the function."""
        return self._emitter.on(name, fn) if fn is not None else self._emitter.on(name)

    def off_event(self, name: str, fn: Callable[..., Any]) -> None:
        self._emitter.off(name, fn)

    def on_state_change(self, fn: Optional[F] = None) -> Any:
        return self._emitter.on("@state", fn) if fn is not None else self._emitter.on("@state")

    async def connect(self) -> None:
        """Open the stream and listen until :meth:`close`. Raises the server's refusal
        (e.g. :class:`UnauthorizedError`) when a retry cannot cure it, or :class:`ClosedError`
        when ``max_reconnect_attempts`` is used up."""
        if self._runner is not None and not self._runner.done():
            if self._runner is asyncio.current_task():
                return
            await asyncio.shield(self._runner)
            return
        self._runner = asyncio.current_task()
        await self._listen()

    async def start(self) -> None:
        """Listen in a background task; returns once the stream is open (the ``connected``
        notice arrived), or raises what stopped it first."""
        if self._runner is not None and not self._runner.done():
            await self.wait_connected()
            return
        self._runner = self._owned = asyncio.get_running_loop().create_task(self._listen(), name="hubcast-sse")
        await self.wait_connected()

    async def wait_connected(self) -> None:
        """Wait until the stream is open; raises what stopped the client if it stops first."""
        while self._state != "connected":
            runner = self._runner
            if runner is None:
                await asyncio.sleep(0)  # a task just made for connect() has not run yet
                runner = self._runner
            if runner is None:
                raise ClosedError("SSE client is not started: call connect() or start()")
            if self._connected is None:
                self._connected = asyncio.Event()
            waiter = asyncio.ensure_future(self._connected.wait())
            await asyncio.wait({waiter, runner}, return_when=asyncio.FIRST_COMPLETED)
            waiter.cancel()
            if runner.done() and not self._is_connected():
                exc = runner.exception() if not runner.cancelled() else None
                raise exc or ClosedError("SSE client closed before the stream opened")

    def _is_connected(self) -> bool:
        # A method, not an inline comparison: the state changes while wait_connected awaits.
        return self._state == "connected"

    async def close(self) -> None:
        """Close the stream for good."""
        self._closing = True
        runner = self._runner
        if runner is not None and not runner.done() and runner is not asyncio.current_task():
            runner.cancel()
            await asyncio.wait({runner})
        await self._set_state("disconnected", "close() called")

    async def __aenter__(self) -> "SSEClient":
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # ---- internals -------------------------------------------------------

    async def _set_state(self, to: ConnectionState, reason: Optional[str] = None) -> None:
        previous = self._state
        if previous == to:
            return
        self._state = to
        if self._connected is None:
            self._connected = asyncio.Event()
        if to == "connected":
            self._connected.set()
        else:
            self._connected.clear()
        await self._emitter.emit("@state", StateChange(previous, to, reason))

    async def _listen(self) -> None:
        self._closing = False
        self._attempt = 0
        await self._set_state("connecting", "connect() called")
        try:
            async with httpx.AsyncClient(timeout=self._timeout) as http:
                while not self._closing:
                    delay: Optional[float] = None
                    try:
                        await self._stream_once(http)
                        reason = "stream ended"
                    except ServerError as err:
                        if err.status in _FINAL_STATUS and not (err.status == 401 and self._get_token is not None):
                            raise
                        reason = str(err)
                        delay = getattr(err, "retry_after", None)
                    except (httpx.HTTPError, OSError) as err:
                        reason = f"stream failed: {err!r}"
                    if self._closing:
                        break
                    if self._max_attempts is not None and self._attempt >= self._max_attempts:
                        raise ClosedError(f"gave up reconnecting after {self._attempt} attempts: {reason}")
                    if delay is None:
                        # After a stream that was open, the server's retry hint; then back off from there.
                        backoff = backoff_delay(self._attempt, self._min_delay, self._max_delay)
                        delay = self.retry if self._attempt == 0 and self.retry is not None else max(backoff, self.retry or 0.0)
                    self._attempt += 1
                    await self._set_state("reconnecting", reason)
                    await asyncio.sleep(delay)
        except asyncio.CancelledError:
            if not self._closing:
                raise
            task = asyncio.current_task()
            if task is not None and task is not self._runner_task_owned():
                task.uncancel()  # close() cancelled the caller's own task: connect() returns normally
        finally:
            await self._set_state("disconnected", "closed" if self._closing else "stopped")

    def _runner_task_owned(self) -> Optional["asyncio.Task[Any]"]:
        return self._owned

    async def _stream_once(self, http: httpx.AsyncClient) -> None:
        headers = {"Accept": "text/event-stream", "Cache-Control": "no-cache", **self._headers}
        token = await self._token_now()
        if token:
            headers["Authorization"] = f"Bearer {token}"
        if self._last_event_id is not None:
            headers["Last-Event-ID"] = self._last_event_id
        async with http.stream("GET", self.url, headers=headers) as response:
            if response.status_code != 200:
                await response.aread()
                raise _http_error(response)
            content_type = response.headers.get("content-type", "")
            if not content_type.startswith("text/event-stream"):
                raise ServerError(f"{self.url} answered {content_type!r}, not text/event-stream", status=response.status_code)
            self.connections += 1
            parser = SSEParser()
            async for chunk in response.aiter_bytes():
                events = parser.feed(chunk)
                self.heartbeats += parser.comments
                parser.comments = 0
                if parser.retry_ms is not None:
                    self.retry = parser.retry_ms / 1000
                for raw in events:
                    await self._handle(raw)
                    if self._closing:
                        return

    async def _token_now(self) -> Optional[str]:
        if self._get_token is None:
            return self._token
        value = self._get_token()
        if asyncio.iscoroutine(value) or isinstance(value, asyncio.Future):
            value = await value
        return value  # type: ignore[return-value]

    async def _handle(self, raw: RawEvent) -> None:
        data = _parse_data(raw.data)
        event = ServerSentEvent(raw.event, data, raw.id, raw.data)
        if raw.event == "system":
            kind = data.get("type") if isinstance(data, dict) else None
            if kind == "connected":
                self.client_id = data.get("client_id")
                # The welcome carries the resume position: a stream that has seen no event yet
                # still resumes from here.
                if self._last_event_id is None and raw.id:
                    self._last_event_id = raw.id
                self._attempt = 0
                await self._set_state("connected", "connected")
            elif kind == "recovery_failed":
                await self._emitter.emit("recovery_failed", event)
            await self._emitter.emit("system", event)
            await self._emitter.emit("*", event)
            return
        if raw.id is not None and raw.id.isdigit():
            # Ids one stream receives rise: anything at or below the position was delivered already.
            if self._last_event_id is not None and self._last_event_id.isdigit() and int(raw.id) <= int(self._last_event_id):
                return
            self._last_event_id = raw.id
        await self._emitter.emit(raw.event, event)
        await self._emitter.emit("*", event)


def _parse_data(raw: str) -> Any:
    """JSON when it parses, else the text (the server sends a published string as is)."""
    try:
        return json.loads(raw)
    except ValueError:
        return raw


def _http_error(response: httpx.Response) -> ServerError:
    code: Any = _STATUS_CODES.get(response.status_code, "server_error")
    message: Any = f"HTTP {response.status_code}"
    try:
        body = response.json()
        if isinstance(body, dict) and isinstance(body.get("error"), dict):
            code = body["error"].get("code", code)
            message = body["error"].get("message", message)
    except ValueError:
        pass  # not JSON (a proxy's page): the status says enough
    err = server_error(code, message, status=response.status_code)
    retry_after = response.headers.get("retry-after")
    if retry_after is not None and retry_after.isdigit():
        setattr(err, "retry_after", float(retry_after))
    return err


def create_sse_client(url: str = "http://localhost:8000/realtime/events", **options: Any) -> SSEClient:
    """An :class:`SSEClient` for ``url``.

    Example::

        client = create_sse_client("http://localhost:8000/realtime/events")

        @client.on_event("notification")
        async def handle_notification(event):
            print(event.data)

        await client.connect()  # listens until client.close()
    """
    return SSEClient(url, **options)


__all__ = ["SSEClient", "create_sse_client"]
