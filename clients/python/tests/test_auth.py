"""Tokens and the API key, against a gateway with JWT_SECRET and API_KEY set
(HUBCAST_AUTH_URL, from test/python/python-client.test.ts)."""

from __future__ import annotations

import os
from typing import Any, Dict, List

import pytest

from hubcast import APIClient, ServerSentEvent, WSClient, create_sse_client, create_ws_client
from hubcast.errors import ForbiddenError, UnauthorizedError


def env(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        pytest.skip(f"needs {name}: run through npm test")
    return value


def ws_url() -> str:
    return env("HUBCAST_AUTH_URL").replace("http", "ws", 1) + "/realtime/ws"


@pytest.mark.asyncio
@pytest.mark.parametrize("transport", ["header", "query", "protocol"])
async def test_a_token_names_the_user_and_grants_its_channels(transport: str) -> None:
    client = create_ws_client(url=ws_url(), token=env("HUBCAST_TOKEN"), token_transport=transport)
    await client.connect()
    assert client.user_id == "py-user"
    assert (await client.join_channel("py:room"))["channel"] == "py:room"
    with pytest.raises(ForbiddenError) as info:
        await client.send_command("join_channel", {"channel": "elsewhere"})
    assert info.value.code == "forbidden"
    await client.disconnect()


@pytest.mark.asyncio
async def test_a_bad_token_is_refused_with_unauthorized_and_not_retried() -> None:
    client = WSClient(ws_url(), token=env("HUBCAST_BAD_TOKEN"))
    with pytest.raises(UnauthorizedError) as info:
        await client.connect()
    assert info.value.code == "unauthorized" and info.value.status == 401
    assert client.state == "disconnected"

    sse = create_sse_client(env("HUBCAST_AUTH_URL"), channels=["py:room"], token=env("HUBCAST_BAD_TOKEN"))
    with pytest.raises(UnauthorizedError) as sse_info:
        await sse.connect()
    assert sse_info.value.status == 401


@pytest.mark.asyncio
async def test_sse_with_a_token_and_the_server_api_with_the_key() -> None:
    base = env("HUBCAST_AUTH_URL")
    sse = create_sse_client(base, channels=["py:room"], token=env("HUBCAST_TOKEN"))
    system: List[Dict[str, Any]] = []
    got: List[ServerSentEvent] = []
    sse.on_event("system", lambda e: system.append(e.data))
    sse.on_event("hello", got.append)
    await sse.start()
    assert system[0]["user_id"] == "py-user"

    async with APIClient(base, api_key=env("HUBCAST_AUTH_API_KEY")) as api:
        await api.send_to_channel("py:room", {"hi": 1}, event="hello")
        await api.send_to_user("py-user", {"hi": 2}, event="hello")  # the stream is on user:py-user too
    from conftest import wait_for

    await wait_for(lambda: len(got) == 2, what="both events on the authenticated stream")
    assert [e.data for e in got] == [{"hi": 1}, {"hi": 2}]
    await sse.close()

    async with APIClient(base, api_key="wrong-key") as wrong:
        with pytest.raises(UnauthorizedError) as info:
            await wrong.broadcast({"x": 1})
    assert info.value.status == 401


def hs256(claims: Dict[str, Any], secret: str) -> str:
    """A JWT signed HS256, as an issuer would (the standard library is enough)."""
    import base64
    import hashlib
    import hmac
    import json

    def b64(raw: bytes) -> str:
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    head = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode()) + "." + b64(json.dumps(claims).encode())
    return head + "." + b64(hmac.new(secret.encode(), head.encode(), hashlib.sha256).digest())


@pytest.mark.asyncio
async def test_an_expiring_token_is_replaced_through_get_token_and_both_clients_resume() -> None:
    import time

    from conftest import wait_for
    from hubcast import StateChange

    secret, base = env("HUBCAST_JWT_SECRET"), env("HUBCAST_AUTH_URL")
    issued: List[str] = []

    def get_token() -> str:
        # The first token (WS) and the second (SSE) live two seconds and expire while the
        # clients are connected; the ones after them, for an hour.
        lifetime = 2 if len(issued) < 2 else 3600
        token = hs256({"sub": "py-user", "channels": ["py:*"], "exp": int(time.time()) + lifetime}, secret)
        issued.append(token)
        return token

    ws = WSClient(ws_url(), get_token=get_token, min_reconnect_delay=0.05, max_reconnect_delay=0.2)
    sse = create_sse_client(base, channels=["py:expiry"], get_token=get_token, min_reconnect_delay=0.05)
    changes: List[StateChange] = []
    system: List[Dict[str, Any]] = []
    via_ws: List[int] = []
    via_sse: List[int] = []
    ws.on_state_change(changes.append)
    ws.on_message("event", lambda e: via_ws.append(e["data"]["n"]) if e["channel"] == "py:expiry" else None)
    sse.on_event("n", lambda e: via_sse.append(e.data["n"]))
    sse.on_event("system", lambda e: system.append(e.data))
    await ws.connect()
    await ws.join_channel("py:expiry")
    await sse.start()
    async with APIClient(base, api_key=env("HUBCAST_AUTH_API_KEY")) as api:
        await api.send_to_channel("py:expiry", {"n": 1}, event="n")
        await wait_for(lambda: any(c.close_code == 4001 for c in changes), timeout=6, what="the 4001 close")
        await wait_for(lambda: any(d.get("type") == "token_expired" for d in system), timeout=6, what="the SSE token_expired notice")
        await api.send_to_channel("py:expiry", {"n": 2}, event="n")
        await wait_for(lambda: via_ws == [1, 2] and via_sse == [1, 2], timeout=6, what="both events on both clients")
    await wait_for(lambda: ws.state == "connected", what="the WS client back with its new token")
    assert len(issued) >= 4, "each client asked for a new token"
    await ws.disconnect()
    await sse.close()
