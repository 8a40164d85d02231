"""The server API client: publish to users, channels and everyone, upload files, read
stats (docs/protocol.md, "The server API" and "HTTP endpoints")."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import IO, Any, Dict, Optional, Union
from urllib.parse import quote

import httpx

from .errors import ConnectionFailedError, RequestTimeoutError, ServerError, server_error

_STATUS_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    413: "payload_too_large",
    415: "unsupported_media_type",
    429: "too_many_connections",
    500: "internal_error",
    503: "not_ready",
}

UploadSource = Union[bytes, bytearray, memoryview, str, Path, IO[bytes]]


class APIClient:
    """Client of the gateway's server API.

    Without ``API_KEY`` on the gateway, only local callers may publish (a loopback address and
    ``Host``, no ``Origin``): run it on the gateway's host with ``http://127.0.0.1:8000``. With
    ``API_KEY`` set, pass it as ``api_key``. Every refusal raises a :class:`ServerError`
    subclass carrying the wire ``code`` and the HTTP ``status``.

    Example::

        api = APIClient("http://127.0.0.1:8000", api_key=os.environ.get("HUBCAST_API_KEY"))
        await api.send_to_channel("general", {"announcement": "hello"})
        stats = await api.stats()
        print(stats["websocket_count"], stats["sse_count"])
        await api.aclose()
    """

    def __init__(self, url: Optional[str] = None, *, api_key: Optional[str] = None, timeout: float = 10.0) -> None:
        """
        :param url: the gateway's base URL; default ``HUBCAST_URL`` or ``http://localhost:8000``.
        :param api_key: the gateway's ``API_KEY``; default ``HUBCAST_API_KEY`` when set.
        :param timeout: seconds for each request (connect, read, write).
        """
        base = url or os.environ.get("HUBCAST_URL") or "http://localhost:8000"
        self.url = _http_base(base)
        self._api_key = api_key if api_key is not None else os.environ.get("HUBCAST_API_KEY") or None
        self._timeout = timeout
        self._http: Optional[httpx.AsyncClient] = None
        self._loop: Optional[asyncio.AbstractEventLoop] = None

    async def send_to_user(self, user_id: str, data: Any, *, event: Optional[str] = None) -> Dict[str, Any]:
        """Publish ``data`` to every connection of ``user_id`` (channel ``user:<user_id>``);
        returns ``{"delivered", "id", "channel"}``."""
        return await self._post_json("/realtime/send", _body({"user_id": user_id, "data": data}, event))

    async def send_to_channel(self, channel: str, data: Any, *, event: Optional[str] = None) -> Dict[str, Any]:
        """Publish ``data`` to ``channel`` as ``event`` (default ``message``); returns ``{"delivered", "id", "channel"}``."""
        return await self._post_json("/realtime/send", _body({"channel": channel, "data": data}, event))

    async def broadcast(self, data: Any, *, event: Optional[str] = None) -> Dict[str, Any]:
        """Publish ``data`` to every connection (WS ``channel`` ``*``); returns ``{"delivered", "id"}``."""
        return await self._post_json("/realtime/broadcast", _body({"data": data}, event))

    async def upload(
        self,
        file: UploadSource,
        filename: Optional[str] = None,
        content_type: Optional[str] = None,
    ) -> Dict[str, Any]:
        """Upload a file (bytes, a path, or a binary file object); the gateway stores it and
        announces ``file.uploaded`` on its upload channel (``files``). Returns
        ``{"id", "filename", "content_type", "size", "url"}``."""
        if isinstance(file, (str, Path)):
            path = Path(file)
            content: Any = path.read_bytes()
            filename = filename or path.name
        elif isinstance(file, (bytes, bytearray, memoryview)):
            content = bytes(file)
        else:
            content = file.read()
            filename = filename or os.path.basename(str(getattr(file, "name", "") or "")) or None
        part = (filename or "upload.bin", content, content_type or "application/octet-stream")
        return await self._request("POST", "/realtime/binary/upload", files={"file": part})

    async def stats(self) -> Dict[str, Any]:
        """This node's counters (``GET /realtime/stats``): ``websocket_count``, ``sse_count``, ``channels``, …"""
        return await self._request("GET", "/realtime/stats")

    async def get_connection_stats(self) -> Dict[str, Any]:
        """The same as :meth:`stats`."""
        return await self.stats()

    async def presence(self, channel: str) -> Dict[str, Any]:
        """Who is on a presence channel: ``{"channel", "count", "members"}``."""
        return await self._request("GET", f"/realtime/channels/{quote(channel, safe='')}/presence")

    async def aclose(self) -> None:
        http, self._http = self._http, None
        if http is not None:
            await http.aclose()

    async def __aenter__(self) -> "APIClient":
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # ---- internals -------------------------------------------------------

    def _client(self) -> httpx.AsyncClient:
        loop = asyncio.get_running_loop()
        if self._http is None or self._loop is not loop:
            # A pooled client belongs to one event loop; a module-level client used from a
            # second asyncio.run() gets a fresh pool.
            headers = {"Authorization": f"Bearer {self._api_key}"} if self._api_key else {}
            self._http = httpx.AsyncClient(base_url=self.url, headers=headers, timeout=self._timeout)
            self._loop = loop
        return self._http

    async def _post_json(self, path: str, body: Dict[str, Any]) -> Dict[str, Any]:
        return await self._request("POST", path, json=body)

    async def _request(self, method: str, path: str, **kwargs: Any) -> Dict[str, Any]:
        try:
            response = await self._client().request(method, path, **kwargs)
        except httpx.TimeoutException as err:
            raise RequestTimeoutError(f"{method} {path}: no answer within {self._timeout} s ({err!r})") from None
        except httpx.TransportError as err:
            raise ConnectionFailedError(f"{method} {self.url}{path}: {err!r}") from None
        if response.status_code >= 400:
            raise _http_error(response, f"{method} {path}")
        try:
            body = response.json()
        except ValueError:
            raise ServerError(f"{method} {path}: answer is not JSON", status=response.status_code) from None
        return body if isinstance(body, dict) else {"value": body}


def _body(body: Dict[str, Any], event: Optional[str]) -> Dict[str, Any]:
    if event is not None:
        body["event"] = event
    return body


def _http_error(response: httpx.Response, what: str) -> ServerError:
    code: Any = _STATUS_CODES.get(response.status_code, "server_error")
    message: Any = f"{what}: HTTP {response.status_code}"
    try:
        body = response.json()
        if isinstance(body, dict) and isinstance(body.get("error"), dict):
            code = body["error"].get("code", code)
            message = f"{what}: {body['error'].get('message', message)}"
    except ValueError:
        pass  # not JSON (a proxy's page): the status says enough
    return server_error(code, message, status=response.status_code)


def _http_base(url: str) -> str:
    parsed = httpx.URL(url)
    scheme = {"ws": "http", "wss": "https"}.get(parsed.scheme, parsed.scheme)
    return str(parsed.copy_with(scheme=scheme, path="/", query=None, fragment=None)).rstrip("/")


def create_api_client(url: Optional[str] = None, *, api_key: Optional[str] = None, timeout: float = 10.0) -> APIClient:
    """An :class:`APIClient`; ``url`` and ``api_key`` default to ``HUBCAST_URL`` / ``HUBCAST_API_KEY``."""
    return APIClient(url, api_key=api_key, timeout=timeout)


#: A ready client for the gateway named by ``HUBCAST_URL`` (default ``http://localhost:8000``).
connection_manager = APIClient()
