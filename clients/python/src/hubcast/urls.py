"""The gateway's endpoints from whatever URL a user gives."""

from __future__ import annotations

from typing import Dict, List, Optional
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

WS_PATH = "/realtime/ws"
SSE_PATH = "/realtime/events"


def normalize_ws_url(raw: str) -> str:
    parts = urlsplit(raw)
    scheme = {"http": "ws", "https": "wss"}.get(parts.scheme, parts.scheme)
    path = parts.path if parts.path not in ("", "/") else WS_PATH
    return urlunsplit((scheme, parts.netloc, path, parts.query, parts.fragment))


def with_query(url: str, extra: Dict[str, str]) -> str:
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    query.update(extra)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), parts.fragment))


def normalize_sse_url(raw: str, channels: Optional[List[str]] = None) -> str:
    parts = urlsplit(raw)
    scheme = {"ws": "http", "wss": "https"}.get(parts.scheme, parts.scheme)
    path = parts.path if parts.path not in ("", "/") else SSE_PATH
    query = parts.query
    if channels:
        pairs = [(k, v) for k, v in parse_qsl(query, keep_blank_values=True) if k != "channels"]
        pairs.append(("channels", ",".join(channels)))
        query = urlencode(pairs, safe=",:*@/")
    return urlunsplit((scheme, parts.netloc, path, query, parts.fragment))
