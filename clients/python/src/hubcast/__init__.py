"""hubcast: asyncio clients for the hubcast realtime gateway.

- :class:`WSClient` / :func:`create_ws_client`: WebSocket, with reconnect and per-channel resume;
- :class:`SSEClient` / :func:`create_sse_client`: Server-Sent Events, with ``Last-Event-ID`` resume;
- :class:`APIClient` / :func:`create_api_client`: the server API (send, broadcast, upload, stats);
- :class:`BinaryMessage`: binary messages in the protocol's layout;
- :mod:`hubcast.errors`: every error carries the wire ``code``.
"""

from .api_client import APIClient, connection_manager, create_api_client
from .binary import BinaryMessage
from .errors import (
    ClientError,
    ClosedError,
    ConnectionLostError,
    ForbiddenError,
    HubcastError,
    InvalidChannelError,
    NotConnectedError,
    PeerNotFoundError,
    RequestTimeoutError,
    ServerError,
    UnauthorizedError,
)
from .sse_client import SSEClient, create_sse_client
from .types import ServerSentEvent, StateChange
from .ws_client import WSClient, create_ws_client

__version__ = "0.1.0"

__all__ = [
    "APIClient",
    "BinaryMessage",
    "ClientError",
    "ClosedError",
    "ConnectionLostError",
    "ForbiddenError",
    "HubcastError",
    "InvalidChannelError",
    "NotConnectedError",
    "PeerNotFoundError",
    "RequestTimeoutError",
    "SSEClient",
    "ServerError",
    "ServerSentEvent",
    "StateChange",
    "UnauthorizedError",
    "WSClient",
    "connection_manager",
    "create_api_client",
    "create_sse_client",
    "create_ws_client",
]
