"""The realtime guide's SSE client: print every ``notification`` event.

``connect()`` listens until the client is closed. So that something arrives, this script also
broadcasts a notification every half second (the server API answers local callers). It stops
after ``--seconds`` (default: run until Ctrl-C).

    python3 examples/sse_client.py [url] [--seconds N]
"""

import argparse
import asyncio
import os

from hubcast import APIClient, create_sse_client

parser = argparse.ArgumentParser()
parser.add_argument("url", nargs="?", default=os.environ.get("HUBCAST_URL", "http://localhost:8000"))
parser.add_argument("--seconds", type=float, default=None)
args = parser.parse_args()
BASE = args.url.rstrip("/")


async def sse_example():
    client = create_sse_client(f"{BASE}/realtime/events")

    @client.on_event("notification")
    async def handle_notification(data):
        print(f"Notification: {data}")

    await client.connect()


async def main():
    async with APIClient(BASE) as api:
        before = (await api.stats())["sse_count"]
        listener = asyncio.create_task(sse_example())
        loop = asyncio.get_running_loop()
        # The clock starts once the stream is open (this gateway counts one more SSE connection).
        for _ in range(100):
            if (await api.stats())["sse_count"] > before or listener.done():
                break
            await asyncio.sleep(0.1)
        deadline = None if args.seconds is None else loop.time() + args.seconds
        n = 0
        while not listener.done() and (deadline is None or loop.time() < deadline):
            n += 1
            await api.broadcast({"n": n, "text": "something happened"}, event="notification")
            await asyncio.sleep(0.5)
    if listener.done():
        listener.result()  # the stream failed: show why
    listener.cancel()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass
