"""The realtime guide's server-side sends: to one user, to a channel, to everyone.

The server API answers local callers when the gateway has no ``API_KEY``; otherwise set
``HUBCAST_API_KEY``. A listener on ``user:alice`` shows the personal notification arriving.

    python3 examples/sending.py [url]
"""

import asyncio
import os
import sys

from hubcast import APIClient, WSClient

BASE = (sys.argv[1] if len(sys.argv) > 1 else os.environ.get("HUBCAST_URL", "http://localhost:8000")).rstrip("/")
user_id = "alice"


async def main():
    # alice is online: without auth, ?user_id= names a connection's user (a development convenience).
    alice = WSClient(BASE.replace("http", "ws", 1) + f"/realtime/ws?user_id={user_id}")
    got = asyncio.Event()

    @alice.on_message("event")
    def on_event(frame):
        print(f"alice got on {frame['channel']}: {frame['data']}")
        if frame["channel"] == f"user:{user_id}":
            got.set()

    await alice.connect()

    client = APIClient(BASE)
    print(await client.send_to_user(user_id, {"message": "Personal notification"}))
    print(await client.send_to_channel("general", {"announcement": "Announcement"}))
    print(await client.broadcast({"global": "Global message"}))

    await asyncio.wait_for(got.wait(), 5)
    await alice.disconnect()
    await client.aclose()


if __name__ == "__main__":
    asyncio.run(main())
