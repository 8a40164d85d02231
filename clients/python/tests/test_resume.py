"""Resume: the WS client across a gateway restart, the SSE client with Last-Event-ID."""

from __future__ import annotations

import asyncio
from typing import Any, Dict, List

import pytest

from conftest import Control, gateway_url, wait_for, ws_url
from hubcast import APIClient, ServerSentEvent, StateChange, WSClient, create_sse_client
from hubcast.errors import ConnectionFailedError, ServerError


async def publish_until_accepted(api: APIClient, channel: str, n: int) -> None:
    """The gateway may still be coming back: retry a refused connection, never a delivered event."""
    for _ in range(200):
        try:
            await api.send_to_channel(channel, {"n": n}, event="n")
            return
        except (ConnectionFailedError, ServerError):
            await asyncio.sleep(0.02)
    raise AssertionError(f"event {n} was never accepted")


@pytest.mark.asyncio
async def test_ws_and_sse_resume_after_a_gateway_restart_without_a_gap(control: Control, api: APIClient) -> None:
    total, restart_at = 60, 30
    ws = WSClient(ws_url(), min_reconnect_delay=0.05, max_reconnect_delay=0.5)
    sse = create_sse_client(gateway_url(), channels=["py:seq"], min_reconnect_delay=0.05, max_reconnect_delay=0.5)
    via_ws: List[int] = []
    via_sse: List[int] = []
    failures: List[Any] = []
    states: List[StateChange] = []
    ws.on_message("event", lambda e: via_ws.append(e["data"]["n"]) if e["channel"] == "py:seq" else None)
    ws.on_message("recovery_failed", failures.append)
    ws.on_state_change(states.append)
    sse_states: List[StateChange] = []
    sse.on_state_change(sse_states.append)
    sse.on_event("n", lambda e: via_sse.append(e.data["n"]))
    sse.on_event("recovery_failed", failures.append)
    await ws.connect()
    await ws.join_channel("py:seq")
    await sse.start()
    assert sse.retry == pytest.approx(0.1), "the server's retry: hint is honoured"
    for n in range(1, restart_at + 1):
        await publish_until_accepted(api, "py:seq", n)
    await wait_for(lambda: len(via_ws) == restart_at and len(via_sse) == restart_at, what="the first events on both")

    await control.restart()
    # Published while the clients are still away: the resume must replay them.
    for n in range(restart_at + 1, total + 1):
        await publish_until_accepted(api, "py:seq", n)
    await wait_for(lambda: len(via_ws) >= total and len(via_sse) >= total, timeout=15, what="every event on both clients")
    assert via_ws == list(range(1, total + 1))
    assert via_sse == list(range(1, total + 1))
    assert failures == [], "history survived the graceful restart"
    assert any(s.current == "reconnecting" and s.close_code == 1012 for s in states), states
    assert sse.connections >= 2
    assert [s.current for s in sse_states][:2] == ["connecting", "connected"] and any(s.current == "reconnecting" for s in sse_states)
    await ws.disconnect()
    await sse.close()


@pytest.mark.asyncio
async def test_sse_resumes_from_last_event_id(api: APIClient) -> None:
    first = create_sse_client(f"{gateway_url()}/realtime/events?channels=py:sse")
    seen: List[ServerSentEvent] = []
    first.on_event("tick", seen.append)
    await first.start()
    for n in range(1, 4):
        await api.send_to_channel("py:sse", {"n": n}, event="tick")
    await wait_for(lambda: len(seen) == 3, what="three ticks")
    position = first.last_event_id
    assert position == seen[-1].id
    await first.close()
    assert first.state == "disconnected"

    missed = [(await api.send_to_channel("py:sse", {"n": n}, event="tick"))["id"] for n in range(4, 7)]
    second = create_sse_client(gateway_url(), channels=["py:sse"], last_event_id=position)
    replayed: List[ServerSentEvent] = []
    system: List[Dict[str, Any]] = []
    second.on_event("tick", replayed.append)
    second.on_event("system", lambda e: system.append(e.data))
    await second.start()
    await wait_for(lambda: len(replayed) == 3, what="the three missed ticks")
    assert [e.id for e in replayed] == missed and [e.data["n"] for e in replayed] == [4, 5, 6]
    assert system[0]["type"] == "connected" and system[0]["channels"] == ["py:sse"]
    # The harness's gateway sends a heartbeat every 100 ms: comments pass without an event.
    await wait_for(lambda: second.heartbeats >= 2, what="heartbeats")
    assert len(replayed) == 3 and second.state == "connected"
    await second.close()


@pytest.mark.asyncio
async def test_sse_connect_listens_until_close_and_plain_text_stays_text(api: APIClient) -> None:
    client = create_sse_client(gateway_url(), channels=["py:text"])
    got: List[ServerSentEvent] = []

    @client.on_event("line")
    async def on_line(event: ServerSentEvent) -> None:
        got.append(event)
        await client.close()  # from inside a listener: connect() returns

    listener = asyncio.create_task(client.connect())
    await client.wait_connected()
    await api.send_to_channel("py:text", "two\nlines", event="line")
    await asyncio.wait_for(listener, 5)
    assert got[0].data == "two\nlines" and got[0].raw == "two\nlines"
    assert client.state == "disconnected"


@pytest.mark.asyncio
async def test_ws_reconnect_rejoins_with_since_and_replays_what_was_missed(api: APIClient) -> None:
    client = WSClient(ws_url())
    seen: List[int] = []
    client.on_message("event", lambda e: seen.append(e["data"]["n"]) if e["channel"] == "py:since" else None)
    await client.connect()
    await client.join_channel("py:since")
    for n in range(1, 4):
        await api.send_to_channel("py:since", {"n": n}, event="n")
    await wait_for(lambda: len(seen) == 3, what="three events")
    await client.disconnect()  # keeps the channel and its position
    for n in range(4, 7):
        await api.send_to_channel("py:since", {"n": n}, event="n")
    await client.connect()  # re-joins with since: the three missed events are replayed
    await wait_for(lambda: len(seen) == 6, what="the missed events")
    await api.send_to_channel("py:since", {"n": 7}, event="n")
    await wait_for(lambda: len(seen) == 7, what="the live event after the replay")
    assert seen == [1, 2, 3, 4, 5, 6, 7]
    await client.disconnect()
