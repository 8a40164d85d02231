"""Shapes of what the gateway sends (docs/protocol.md), for type checkers.

Frames reach listeners as plain ``dict``s; these ``TypedDict``s name their keys.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, List, Literal, NotRequired, Optional, TypedDict, Union

ConnectionState = Literal["disconnected", "connecting", "connected", "reconnecting"]
SignalType = Literal["offer", "answer", "ice_candidate", "bye"]


class ConnectedFrame(TypedDict):
    type: Literal["connected"]
    client_id: str
    user_id: Optional[str]
    #: Where other peers send this connection WebRTC signals.
    peer_id: NotRequired[Optional[str]]


class EventFrame(TypedDict):
    type: Literal["event"]
    #: ``*`` for broadcasts.
    channel: str
    event: str
    #: A decimal string; ``None`` only on the gateway's ``system`` notices.
    id: Optional[str]
    data: Any
    redelivered: NotRequired[bool]


class ReplyFrame(TypedDict):
    type: Literal["reply"]
    ref: Union[str, int]
    ok: bool
    data: NotRequired[Any]


class ErrorFrame(TypedDict):
    type: Literal["error"]
    code: str
    message: str
    ref: NotRequired[Union[str, int]]


class WebRTCSignalFrame(TypedDict):
    type: Literal["webrtc_signal"]
    signal_type: SignalType
    from_peer_id: str
    from_user_id: NotRequired[Optional[str]]
    target_peer_id: str
    sdp: NotRequired[Any]
    candidate: NotRequired[Any]


class RecoveryFailed(TypedDict):
    """The client's notice that a resume could not replay everything on ``channel``: refetch."""

    type: Literal["recovery_failed"]
    channel: str
    reason: NotRequired[str]


class JoinReply(TypedDict):
    channel: str
    #: Present when the join carried ``since``: ``False`` means events were lost.
    recovered: NotRequired[bool]
    last_id: NotRequired[str]


@dataclass(frozen=True)
class StateChange:
    """A transition of a client's connection state; reported only on a real change."""

    previous: ConnectionState
    current: ConnectionState
    reason: Optional[str] = None
    #: The WebSocket close code that caused it, when there was one.
    close_code: Optional[int] = None


@dataclass(frozen=True)
class ServerSentEvent:
    """One SSE event as the SSE client delivers it.

    ``data`` is the JSON value when the data parses as JSON, else the text
    (the gateway sends a published string as is); ``raw`` is always the text.
    """

    event: str
    data: Any
    id: Optional[str] = None
    raw: str = ""


Frame = Dict[str, Any]
Channels = List[str]
