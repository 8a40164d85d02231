"""An incremental parser of the WHATWG ``text/event-stream`` format."""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass
from typing import List, Optional

_EOL = re.compile(r"\r\n|\r|\n")


@dataclass(frozen=True)
class RawEvent:
    event: str
    data: str
    #: The event's own ``id:`` field; ``None`` when it had none (the stream's last id is kept apart).
    id: Optional[str]


class SSEParser:
    """Feed bytes, get events. Lines end with CRLF, CR or LF; comments (``: heartbeat``) are
    skipped; ``retry:`` sets :attr:`retry_ms`; ``id:`` sets :attr:`last_event_id`."""

    def __init__(self) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._buf = ""
        self._first = True
        self._event = ""
        self._data: List[str] = []
        self._has_data = False
        self._id: Optional[str] = None
        self.last_event_id: Optional[str] = None
        self.retry_ms: Optional[int] = None
        #: Comment lines seen (heartbeats).
        self.comments = 0

    def feed(self, chunk: bytes) -> List[RawEvent]:
        text = self._decoder.decode(chunk)
        if self._first and text:
            self._first = False
            if text.startswith("\ufeff"):
                text = text[1:]
        self._buf += text
        events: List[RawEvent] = []
        pos = 0
        while True:
            m = _EOL.search(self._buf, pos)
            if m is None:
                break
            # A CR at the very end may be the first half of a CRLF: wait for the next chunk.
            if m.group() == "\r" and m.end() == len(self._buf):
                break
            event = self._line(self._buf[pos : m.start()])
            if event is not None:
                events.append(event)
            pos = m.end()
        self._buf = self._buf[pos:]
        return events

    def _line(self, line: str) -> Optional[RawEvent]:
        if line == "":
            return self._dispatch()
        if line.startswith(":"):
            self.comments += 1
            return None
        name, sep, value = line.partition(":")
        if sep and value.startswith(" "):
            value = value[1:]
        if name == "event":
            self._event = value
        elif name == "data":
            self._data.append(value)
            self._has_data = True
        elif name == "id":
            if "\0" not in value:
                self._id = value
                self.last_event_id = value
        elif name == "retry":
            if value.isdigit():
                self.retry_ms = int(value)
        return None

    def _dispatch(self) -> Optional[RawEvent]:
        event, data, has_data, own_id = self._event, self._data, self._has_data, self._id
        self._event, self._data, self._has_data, self._id = "", [], False, None
        if not has_data:
            return None
        return RawEvent(event or "message", "\n".join(data), own_id)
