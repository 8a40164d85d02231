"""The realtime guide's binary file: send ``image.png`` as a binary message.

Without a channel the gateway echoes the message back; with one
(``BinaryMessage.from_bytes(..., channel="room:1")``) it goes to that channel's WebSocket
subscribers. For a file others fetch later, upload it: the gateway announces ``file.uploaded``
on channel ``files``.

    python3 examples/binary_file.py [url]
"""

import asyncio
import os
import sys
import tempfile

from hubcast import APIClient, BinaryMessage, WSClient

BASE = (sys.argv[1] if len(sys.argv) > 1 else os.environ.get("HUBCAST_URL", "http://localhost:8000")).rstrip("/")

# A 1×1 PNG, so the example has a file to send.
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)


async def main():
    os.chdir(tempfile.mkdtemp())
    with open("image.png", "wb") as f:
        f.write(PNG)

    client = WSClient(BASE.replace("http", "ws", 1) + "/realtime/ws")
    echoed = asyncio.Event()
    uploaded = asyncio.Event()

    @client.on_message("binary")
    def on_binary(message):
        print(f"echo: {message.filename} {message.content_type} {len(message.data)} bytes")
        echoed.set()

    @client.on_message("event")
    def on_event(frame):
        if frame["event"] == "file.uploaded":
            print(f"file.uploaded: {frame['data']}")
            uploaded.set()

    await client.connect()
    await client.join_channel("files")

    with open("image.png", "rb") as f:
        file_data = f.read()

    binary_msg = BinaryMessage.from_bytes(
        data=file_data,
        content_type="image/png",
        filename="image.png"
    )

    await client.send_binary(binary_msg)

    async with APIClient(BASE) as api:
        print(await api.upload("image.png", content_type="image/png"))

    await asyncio.wait_for(asyncio.gather(echoed.wait(), uploaded.wait()), 5)
    await client.disconnect()


if __name__ == "__main__":
    asyncio.run(main())
