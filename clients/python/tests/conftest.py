"""Fixtures for tests against a real gateway.

``HUBCAST_URL`` names the gateway (``npm test`` starts one; by hand: ``npm start``).
``HUBCAST_CONTROL_URL`` names the TypeScript harness of test/python/python-client.test.ts,
which publishes over HTTP, holds a TypeScript SDK client and WebRTC peer, and restarts the
gateway; tests that need it are skipped without it.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from pathlib import Path
from typing import Any, AsyncIterator, Awaitable, Callable, Dict, Optional, TypeVar

import httpx
import pytest
import pytest_asyncio

# The package from this checkout, whether or not it is pip-installed.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from hubcast import APIClient  # noqa: E402

T = TypeVar("T")


def gateway_url() -> str:
    return os.environ.get("HUBCAST_URL", "http://127.0.0.1:8000").rstrip("/")


def ws_url() -> str:
    return gateway_url().replace("http", "ws", 1) + "/realtime/ws"


async def wait_for(check: Callable[[], Any], timeout: float = 5.0, what: str = "condition") -> None:
    """Poll ``check`` (sync or async) until true; a condition, never a sleep."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        await asyncio.sleep(0.01)


class Control:
    """The TypeScript side of the tests (see the module docstring)."""

    def __init__(self, url: str) -> None:
        self.url = url.rstrip("/")
        self.http = httpx.AsyncClient(base_url=self.url, timeout=30.0)

    async def state(self) -> Dict[str, Any]:
        return _ok(await self.http.get("/state"))

    async def publish(self, channel: str, event: str, data: Any) -> Dict[str, Any]:
        """The TypeScript side publishes over HTTP (POST /realtime/send)."""
        return _ok(await self.http.post("/publish", json={"channel": channel, "event": event, "data": data}))

    async def join(self, channel: str) -> None:
        """The TypeScript SDK client joins ``channel``; what it receives shows in ``state()``."""
        _ok(await self.http.post("/join", json={"channel": channel}))

    async def restart(self) -> None:
        """Gracefully stop the gateway and start it again on the same port and data directory."""
        _ok(await self.http.post("/restart"))

    async def aclose(self) -> None:
        await self.http.aclose()


def _ok(response: httpx.Response) -> Any:
    assert response.status_code == 200, f"control {response.request.url}: {response.status_code} {response.text}"
    return response.json()


@pytest_asyncio.fixture
async def control() -> AsyncIterator[Control]:
    url = os.environ.get("HUBCAST_CONTROL_URL")
    if not url:
        pytest.skip("needs the TypeScript harness (HUBCAST_CONTROL_URL): run through npm test")
    c = Control(url)
    yield c
    await c.aclose()


@pytest_asyncio.fixture
async def api() -> AsyncIterator[APIClient]:
    client = APIClient(gateway_url())
    yield client
    await client.aclose()
