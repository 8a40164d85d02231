"""Parts that need no gateway: the SSE parser, binary layout, backoff, error classes."""

from __future__ import annotations

import struct

import pytest

from hubcast import BinaryMessage
from hubcast.backoff import backoff_delay
from hubcast.errors import SERVER_ERRORS, InvalidBinaryError, PeerNotFoundError, ServerError, server_error
from hubcast.sse_parser import SSEParser


def test_sse_parser_handles_crlf_cr_lf_split_chunks_comments_and_retry() -> None:
    parser = SSEParser()
    stream = b"retry: 2000\r\n\r\n: heartbeat\n\nid: 7\nevent: a\ndata: line1\rdata: line2\r\n\r\nid: 8\ndata: {\"x\": 1}\n\n"
    events = []
    for i in range(len(stream)):  # one byte at a time: CR at a chunk's end must wait for its LF
        events += parser.feed(stream[i : i + 1])
    assert parser.retry_ms == 2000
    assert parser.comments == 1
    assert [(e.event, e.data, e.id) for e in events] == [("a", "line1\nline2", "7"), ("message", '{"x": 1}', "8")]
    assert parser.last_event_id == "8"


def test_sse_parser_keeps_the_stream_id_apart_from_events_without_one() -> None:
    parser = SSEParser()
    events = parser.feed("id: 5\ndata: a\n\nevent: system\ndata: é\n\n".encode())
    assert [e.id for e in events] == ["5", None]
    assert events[1].data == "é"
    assert parser.last_event_id == "5"


def test_binary_message_layout_round_trips() -> None:
    msg = BinaryMessage.from_bytes(b"\x00\x01payload", "image/png", "photo.png", "room:1")
    frame = msg.encode()
    (length,) = struct.unpack(">I", frame[:4])
    assert frame[4 : 4 + length] == b'{"content_type":"image/png","filename":"photo.png","channel":"room:1"}'
    assert frame[4 + length :] == b"\x00\x01payload"
    assert BinaryMessage.decode(frame) == msg
    with pytest.raises(InvalidBinaryError) as info:
        BinaryMessage.decode(b"\x00\x00\x00\x09{}")
    assert info.value.code == "invalid_binary"
    with pytest.raises(InvalidBinaryError):
        BinaryMessage.from_bytes(b"x", "", "a")


def test_backoff_has_full_jitter_under_a_cap() -> None:
    assert backoff_delay(0, 0.25, 10, rand=lambda: 1.0) == 0.25
    assert backoff_delay(5, 0.25, 10, rand=lambda: 1.0) == 8.0
    assert backoff_delay(50, 0.25, 10, rand=lambda: 1.0) == 10
    assert backoff_delay(3, 0.25, 10, rand=lambda: 0.0) == 0.0


def test_every_server_code_has_its_class() -> None:
    err = server_error("peer_not_found", "no such peer", ref=3)
    assert isinstance(err, PeerNotFoundError) and err.code == "peer_not_found" and err.ref == 3
    unknown = server_error("brand_new_code", "from a newer gateway", status=418)
    assert type(unknown) is ServerError and unknown.code == "brand_new_code" and unknown.status == 418
    assert all(cls.code == code for code, cls in SERVER_ERRORS.items())


@pytest.mark.asyncio
async def test_sse_client_reopens_a_silent_stream_with_last_event_id() -> None:
    """A stream that stops sending (no heartbeat within read_timeout) counts as dead."""
    import asyncio

    from hubcast import create_sse_client

    requests: list[bytes] = []
    done = asyncio.Event()

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        requests.append(head)
        n = len(requests)
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\n"
            + b"retry: 50\n\n"
            + f'id: {n * 10}\nevent: system\ndata: {{"type":"connected","client_id":"c{n}"}}\n\n'.encode()
            + f"id: {n * 10 + 1}\nevent: tick\ndata: {n}\n\n".encode()
        )
        await writer.drain()
        await done.wait()  # silence until the test ends: no heartbeat, no close
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    client = create_sse_client(f"http://127.0.0.1:{port}", channels=["a"], read_timeout=0.3)
    ticks: list[int] = []
    client.on_event("tick", lambda e: ticks.append(e.data))
    await client.start()
    for _ in range(300):
        if len(ticks) >= 2:
            break
        await asyncio.sleep(0.01)
    await client.close()
    done.set()
    server.close()
    await server.wait_closed()
    await asyncio.sleep(0)  # the handlers finish
    assert ticks[:2] == [1, 2]
    assert b"last-event-id: 11" in requests[1].lower(), requests[1]
    assert client.retry == 0.05
