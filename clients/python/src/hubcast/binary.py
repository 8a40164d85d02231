"""Binary messages in the protocol's layout (docs/protocol.md, "Binary messages").

::

    +----------------------+--------------------------------+-----------+
    | header length (4 B,  | header: UTF-8 JSON object      | the bytes |
    | unsigned big-endian) | {"content_type","filename",    |           |
    |                      |  "channel"?}                   |           |
    +----------------------+--------------------------------+-----------+
"""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass
from typing import Any, Dict, Optional, Union

from .errors import InvalidBinaryError

#: The server's bounds: a longer header or field is refused ``invalid_frame``.
MAX_HEADER_BYTES = 16384
MAX_FIELD_CHARS = 255


@dataclass(frozen=True)
class BinaryMessage:
    """One binary message: its header fields and its bytes.

    Example::

        msg = BinaryMessage.from_bytes(b"\\x89PNG...", "image/png", "photo.png")
        await client.send_binary(msg)                  # echoed back to the sender
        await client.send_binary(msg.to_channel("room:1"))  # to the channel's subscribers
    """

    content_type: str
    filename: str
    data: bytes
    channel: Optional[str] = None

    @classmethod
    def from_bytes(
        cls,
        data: Union[bytes, bytearray, memoryview, str],
        content_type: str = "application/octet-stream",
        filename: str = "",
        channel: Optional[str] = None,
    ) -> "BinaryMessage":
        """Build a message; ``str`` data is sent as UTF-8. Raises :class:`InvalidBinaryError` on a bad field."""
        body = data.encode("utf-8") if isinstance(data, str) else bytes(data)
        if not isinstance(content_type, str) or not content_type or len(content_type) > MAX_FIELD_CHARS:
            raise InvalidBinaryError(f"content_type must be a non-empty string of at most {MAX_FIELD_CHARS} characters")
        if not isinstance(filename, str) or len(filename) > MAX_FIELD_CHARS:
            raise InvalidBinaryError(f"filename must be a string of at most {MAX_FIELD_CHARS} characters")
        if channel is not None and (not isinstance(channel, str) or not channel):
            raise InvalidBinaryError("channel must be a non-empty string")
        return cls(content_type=content_type, filename=filename, data=body, channel=channel)

    def to_channel(self, channel: str) -> "BinaryMessage":
        """The same message addressed to ``channel``."""
        return BinaryMessage.from_bytes(self.data, self.content_type, self.filename, channel)

    @property
    def header(self) -> Dict[str, Any]:
        header: Dict[str, Any] = {"content_type": self.content_type, "filename": self.filename}
        if self.channel is not None:
            header["channel"] = self.channel
        return header

    def encode(self) -> bytes:
        """The frame: 4-byte big-endian header length, the JSON header, the bytes."""
        head = json.dumps(self.header, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
        if len(head) > MAX_HEADER_BYTES:
            raise InvalidBinaryError(f"header is {len(head)} bytes, over {MAX_HEADER_BYTES}")
        return struct.pack(">I", len(head)) + head + self.data

    @classmethod
    def decode(cls, frame: Union[bytes, bytearray, memoryview]) -> "BinaryMessage":
        """Parse a frame; raises :class:`InvalidBinaryError` when it does not follow the layout."""
        buf = bytes(frame)
        if len(buf) < 4:
            raise InvalidBinaryError(f"binary frame of {len(buf)} bytes has no 4-byte header length")
        (length,) = struct.unpack(">I", buf[:4])
        if length < 1 or length > MAX_HEADER_BYTES or 4 + length > len(buf):
            raise InvalidBinaryError(f"binary frame header length {length} is out of range for a {len(buf)}-byte frame")
        try:
            header = json.loads(buf[4 : 4 + length].decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as err:
            raise InvalidBinaryError(f"binary frame header is not UTF-8 JSON: {err}") from None
        if not isinstance(header, dict):
            raise InvalidBinaryError("binary frame header is not a JSON object")
        content_type = header.get("content_type")
        filename = header.get("filename", "")
        channel = header.get("channel")
        if not isinstance(content_type, str) or not isinstance(filename, str):
            raise InvalidBinaryError("binary frame header needs string content_type and filename")
        if channel is not None and not isinstance(channel, str):
            raise InvalidBinaryError("binary frame header channel must be a string")
        return cls(content_type=content_type, filename=filename, data=buf[4 + length :], channel=channel)

    def text(self) -> str:
        """The bytes decoded as UTF-8."""
        return self.data.decode("utf-8")
