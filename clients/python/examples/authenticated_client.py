"""The realtime guide's authenticated client.

With ``JWT_SECRET`` set on the gateway, pass a token it signed (``HUBCAST_TOKEN``); the
connection's user is the token's ``sub``. With auth off (``npm start``), the token is not
needed and the connection is anonymous.

    HUBCAST_TOKEN=<jwt> python3 examples/authenticated_client.py [url]
"""

import asyncio
import os
import sys

from hubcast import create_ws_client

BASE = (sys.argv[1] if len(sys.argv) > 1 else os.environ.get("HUBCAST_URL", "http://localhost:8000")).rstrip("/")
TOKEN = os.environ.get("HUBCAST_TOKEN")


async def main():
    client = create_ws_client(
        url=BASE.replace("http", "ws", 1) + "/realtime/ws",
        token=TOKEN
    )
    await client.connect()
    print(f"connected as client {client.client_id}, user {client.user_id}")
    print(await client.send_command("ping", {}))
    await client.disconnect()


if __name__ == "__main__":
    asyncio.run(main())
