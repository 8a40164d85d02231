"""The WebSocket client's channels and their resume positions.

Event ids are decimal strings that rise within a channel; they are compared as numbers.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

from .types import JoinReply


@dataclass
class Subscription:
    channel: str
    #: Id of the last event delivered on this channel: the resume position.
    last_id: Optional[str] = None
    joined: bool = False
    in_flight: bool = False
    waiters: List["asyncio.Future[JoinReply]"] = field(default_factory=list)

    def settle(self, reply: Optional[JoinReply], error: Optional[BaseException] = None) -> None:
        waiters, self.waiters = self.waiters, []
        for w in waiters:
            if w.done():
                continue
            if error is not None:
                w.set_exception(error)
            else:
                assert reply is not None
                w.set_result(reply)


def accept(subs: Dict[str, Subscription], channel: Any, event_id: Any) -> bool:
    """False for an event at or below its channel's position (a replay overlapping what was
    delivered); otherwise the position moves to it."""
    sub = subs.get(channel) if isinstance(channel, str) else None
    if sub is None or not isinstance(event_id, str) or not event_id.isdigit():
        return True
    if sub.last_id is not None and int(event_id) <= int(sub.last_id):
        return False
    sub.last_id = event_id
    return True
