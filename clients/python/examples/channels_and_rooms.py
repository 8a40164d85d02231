"""The realtime guide's channels and rooms: join ``chat_room_1`` and post to it.

A joined channel is re-joined after a reconnect, resuming from the last event seen.

    python3 examples/channels_and_rooms.py [url]
"""

import asyncio
import os
import sys

from hubcast import WSClient

BASE = (sys.argv[1] if len(sys.argv) > 1 else os.environ.get("HUBCAST_URL", "http://localhost:8000")).rstrip("/")


async def main():
    client = WSClient(BASE.replace("http", "ws", 1) + "/realtime/ws")
    got = asyncio.Event()

    @client.on_message("event")
    def on_event(frame):
        if frame["channel"] == "chat_room_1":
            print(f"{frame['channel']} {frame['event']} #{frame['id']}: {frame['data']['message']}")
            got.set()

    await client.connect()

    # Join a channel
    await client.send_command("join_channel", {"channel": "chat_room_1"})

    # Post to the channel
    await client.send_json({
        "type": "channel_message",
        "channel": "chat_room_1",
        "message": "Hello everyone in the room!"
    })

    await asyncio.wait_for(got.wait(), 5)
    await client.disconnect()


if __name__ == "__main__":
    asyncio.run(main())
