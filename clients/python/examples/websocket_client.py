"""The realtime guide's WebSocket client: connect, send a text, get its echo, disconnect.

Run against a gateway (``npm start``): ``python3 examples/websocket_client.py [url]``
(or ``HUBCAST_URL``; default http://localhost:8000).
"""

import asyncio
import os
import sys

from hubcast import WSClient

BASE = (sys.argv[1] if len(sys.argv) > 1 else os.environ.get("HUBCAST_URL", "http://localhost:8000")).rstrip("/")
WS_URL = BASE.replace("http", "ws", 1) + "/realtime/ws"


async def websocket_example():
    client = WSClient(WS_URL)

    @client.on_message("text")
    async def handle_message(data):
        print(f"Received: {data}")

    await client.connect()
    await client.send_text("Hello!")
    await client.disconnect()


if __name__ == "__main__":
    asyncio.run(websocket_example())
