"""WSClient against a real gateway: echoes, channels across languages, typed errors,
binary messages, WebRTC signals with a TypeScript SDK peer, uploads."""

from __future__ import annotations

import asyncio
from typing import Any, Dict, List

import httpx
import pytest

from conftest import Control, gateway_url, wait_for, ws_url
from hubcast import APIClient, BinaryMessage, WSClient, create_ws_client
from hubcast.errors import (
    BadRequestError,
    ForbiddenError,
    InvalidChannelError,
    NotConnectedError,
    NotSubscribedError,
    PeerNotFoundError,
    UnknownCommandError,
)


@pytest.mark.asyncio
async def test_echoes_reach_decorated_and_plain_listeners() -> None:
    client = WSClient(ws_url())
    texts: List[Any] = []
    jsons: List[Any] = []

    @client.on_message("text")
    async def on_text(frame: Dict[str, Any]) -> None:
        texts.append(frame["data"])

    client.on_message("json", lambda frame: jsons.append(frame["data"]))
    await client.connect()
    assert client.state == "connected" and client.client_id and client.peer_id
    await client.send_text("hello")
    await client.send_json({"type": "data", "value": 123})
    await wait_for(lambda: texts == ["hello"] and jsons == [{"type": "data", "value": 123}], what="both echoes")
    await client.disconnect()
    assert client.state == "disconnected"
    with pytest.raises(NotConnectedError) as info:
        await client.send_text("after disconnect")
    assert info.value.code == "not_connected"


@pytest.mark.asyncio
async def test_disconnect_delivers_what_arrived_before_the_close() -> None:
    # The guide's flow: connect, send, disconnect at once; the echo still reaches the listener.
    client = WSClient(ws_url())
    got: List[str] = []
    client.on_message("text", lambda frame: got.append(frame["data"]))
    await client.connect()
    await client.send_text("last words")
    await client.disconnect()
    assert got == ["last words"]


@pytest.mark.asyncio
async def test_joins_a_channel_and_receives_what_the_typescript_side_publishes(control: Control) -> None:
    client = WSClient(ws_url())
    events: List[Dict[str, Any]] = []
    client.on_message("event", lambda e: events.append(e) if e["channel"] == "py:from-ts" else None)
    await client.connect()
    reply = await client.send_command("join_channel", {"channel": "py:from-ts"})
    assert reply["channel"] == "py:from-ts"
    assert client.channels == ["py:from-ts"]
    ids = [(await control.publish("py:from-ts", "note", {"n": n}))["id"] for n in range(1, 4)]
    await wait_for(lambda: len(events) == 3, what="three events from the TypeScript side")
    assert [e["data"] for e in events] == [{"n": 1}, {"n": 2}, {"n": 3}]
    assert [e["id"] for e in events] == ids and {e["event"] for e in events} == {"note"}
    assert client.last_event_id("py:from-ts") == ids[-1]
    await client.disconnect()


@pytest.mark.asyncio
async def test_the_typescript_sdk_receives_what_python_publishes(control: Control, api: APIClient) -> None:
    await control.join("py:to-ts")
    sent = await api.send_to_channel("py:to-ts", {"from": "python", "via": "http"}, event="py.http")
    assert sent["channel"] == "py:to-ts" and sent["delivered"] >= 1
    client = WSClient(ws_url())
    await client.connect()
    published = await client.publish("py:to-ts", {"from": "python", "via": "ws"})
    assert published["id"].isdigit()

    async def arrived() -> bool:
        received = [e for e in (await control.state())["received"] if e["channel"] == "py:to-ts"]
        return len(received) >= 2

    await wait_for(arrived, what="both publications at the TypeScript client")
    received = [e for e in (await control.state())["received"] if e["channel"] == "py:to-ts"]
    assert [(e["event"], e["id"]) for e in received] == [("py.http", sent["id"]), ("message", published["id"])]
    assert received[0]["data"] == {"from": "python", "via": "http"}
    assert received[1]["data"]["message"] == {"from": "python", "via": "ws"}
    assert received[1]["data"]["client_id"] == client.client_id
    await client.disconnect()


@pytest.mark.asyncio
async def test_refused_frames_raise_typed_errors_with_the_wire_code(api: APIClient) -> None:
    client = WSClient(ws_url())
    unanswered: List[Dict[str, Any]] = []
    client.on_message("error", unanswered.append)
    await client.connect()
    cases = [
        (client.send_command("join_channel", {"channel": "bad channel!"}), InvalidChannelError, "invalid_channel"),
        (client.publish("products", {"x": 1}), ForbiddenError, "forbidden"),
        (client.send_command("no_such_command"), UnknownCommandError, "unknown_command"),
        (client.leave_channel("never-joined"), NotSubscribedError, "not_subscribed"),
        (client.send_webrtc_signal(signal_type="offer", target_peer_id="nobody-here", sdp="v=0"), PeerNotFoundError, "peer_not_found"),
    ]
    for call, cls, code in cases:
        with pytest.raises(cls) as info:
            await call
        assert info.value.code == code and info.value.ref is not None, info.value
    assert "bad channel!" not in client.channels, "a refused join is forgotten"
    # A frame sent without a ref: its refusal arrives as an error message.
    await client.send_json({"type": "channel_message", "channel": "products", "message": "hi"})
    await wait_for(lambda: len(unanswered) == 1, what="the unanswered error frame")
    assert unanswered[0]["code"] == "forbidden"
    assert client.state == "connected", "refusals never close the connection"
    await client.disconnect()

    with pytest.raises(InvalidChannelError) as http_info:
        await api.send_to_channel("bad channel!", {})
    assert http_info.value.status == 400 and http_info.value.code == "invalid_channel"
    with pytest.raises(BadRequestError) as reserved:
        await api.broadcast({}, event="system")
    assert reserved.value.status == 400 and "system" in reserved.value.message


@pytest.mark.asyncio
async def test_binary_messages_echo_and_reach_a_channel() -> None:
    sender, listener = WSClient(ws_url()), WSClient(ws_url())
    echoed: List[BinaryMessage] = []
    heard: List[BinaryMessage] = []
    sender.on_message("binary", echoed.append)
    listener.on_message("binary", heard.append)
    await asyncio.gather(sender.connect(), listener.connect())
    await listener.join_channel("py:bin")
    payload = bytes(range(256)) * 4
    await sender.send_binary(BinaryMessage.from_bytes(payload, "application/octet-stream", "blob.bin"))
    await sender.send_binary(BinaryMessage.from_bytes(data=b"\x89PNG\r\n", content_type="image/png", filename="p.png", channel="py:bin"))
    await wait_for(lambda: len(echoed) == 1 and len(heard) == 1, what="the echo and the channel delivery")
    assert echoed[0].data == payload and echoed[0].filename == "blob.bin" and echoed[0].channel is None
    assert heard[0] == BinaryMessage("image/png", "p.png", b"\x89PNG\r\n", "py:bin")
    await asyncio.gather(sender.disconnect(), listener.disconnect())


@pytest.mark.asyncio
async def test_webrtc_signals_with_a_typescript_sdk_peer(control: Control) -> None:
    async def peer_id() -> Any:
        return (await control.state())["peer_id"]

    await wait_for(peer_id, what="the TypeScript peer to be connected")
    target = await peer_id()
    client = create_ws_client(url=ws_url())
    answers: List[Dict[str, Any]] = []
    client.on_message("webrtc_signal", answers.append)
    await client.connect()
    await client.send_webrtc_signal(signal_type="offer", target_peer_id=target, sdp="v=0 python-offer")
    await wait_for(lambda: len(answers) == 1, what="the TypeScript peer's answer")
    answer = answers[0]
    assert answer["signal_type"] == "answer" and answer["from_peer_id"] == target
    assert answer["target_peer_id"] == client.peer_id and answer["sdp"] == "answer to v=0 python-offer"
    offers = [s for s in (await control.state())["signals"] if s.get("signal_type") == "offer" and s.get("from_peer_id") == client.peer_id]
    assert len(offers) == 1 and offers[0]["sdp"] == "v=0 python-offer"
    await client.send_webrtc_signal(signal_type="ice_candidate", target_peer_id=target, candidate={"candidate": "candidate:1 1 udp 1 127.0.0.1 9 typ host"})
    await client.disconnect()


@pytest.mark.asyncio
async def test_upload_announces_file_uploaded(api: APIClient) -> None:
    client = WSClient(ws_url())
    uploaded: List[Dict[str, Any]] = []
    client.on_message("event", lambda e: uploaded.append(e) if e["event"] == "file.uploaded" else None)
    await client.connect()
    await client.join_channel("files")
    content = b"hello from python\n"
    result = await api.upload(content, filename="hello.txt", content_type="text/plain")
    assert result["filename"] == "hello.txt" and result["size"] == len(content)
    await wait_for(lambda: len(uploaded) == 1, what="file.uploaded")
    assert uploaded[0]["data"] == result
    async with httpx.AsyncClient() as http:
        fetched = await http.get(gateway_url() + result["url"])
    assert fetched.content == content
    await client.disconnect()


@pytest.mark.asyncio
async def test_stats_count_websocket_and_sse_connections(api: APIClient) -> None:
    client = WSClient(ws_url())
    await client.connect()
    stats = await api.stats()
    assert stats["websocket_count"] >= 1 and "sse_count" in stats
    assert (await api.get_connection_stats())["websocket_count"] >= 1
    await client.disconnect()


@pytest.mark.asyncio
async def test_a_cancelled_connect_stops_trying() -> None:
    # Nothing listens on port 9 of loopback: the client retries until the caller gives up.
    client = WSClient("ws://127.0.0.1:9/realtime/ws", min_reconnect_delay=0.01, max_reconnect_delay=0.05)
    with pytest.raises(asyncio.TimeoutError):
        await asyncio.wait_for(client.connect(), 0.3)
    assert client.state == "disconnected"
    await asyncio.sleep(0.1)
    assert client.state == "disconnected", "no reconnect in the background"


@pytest.mark.asyncio
async def test_max_reconnect_attempts_gives_up_with_closed() -> None:
    from hubcast.errors import ClosedError

    client = WSClient("ws://127.0.0.1:9/realtime/ws", min_reconnect_delay=0.01, max_reconnect_delay=0.02, max_reconnect_attempts=3)
    states: List[str] = []
    client.on_state_change(lambda change: states.append(change.current))
    with pytest.raises(ClosedError) as info:
        await client.connect()
    assert "gave up reconnecting after 3 attempts" in info.value.message
    await wait_for(lambda: states and states[-1] == "disconnected", what="the final state change")
    assert states[0] == "connecting" and "reconnecting" in states
