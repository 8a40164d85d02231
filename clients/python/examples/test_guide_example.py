"""The realtime guide's pytest example. Run with a gateway up (``npm start``):

    HUBCAST_URL=http://localhost:8000 python3 -m pytest examples/test_guide_example.py
"""

import os

import pytest

from hubcast import WSClient

WS_URL = os.environ.get("HUBCAST_URL", "http://localhost:8000").rstrip("/").replace("http", "ws", 1) + "/realtime/ws"


@pytest.mark.asyncio
async def test_websocket_connection():
    client = WSClient(WS_URL)

    await client.connect()
    await client.send_text("Test message")
    await client.disconnect()
