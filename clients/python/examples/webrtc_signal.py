"""The realtime guide's WebRTC signal: an offer to peer ``peer_123``, answered.

Signals go to peer ids. Here ``peer_123`` is a connection on the signaling endpoint
(``/realtime/webrtc/signaling?peer_id=peer_123``, auth off); a ``/realtime/ws`` connection gets
its own random ``peer_id`` in its ``connected`` frame (``client.peer_id``), which it hands to
the peers that should call it.

    python3 examples/webrtc_signal.py [url]
"""

import asyncio
import os
import sys

from hubcast import WSClient

BASE = (sys.argv[1] if len(sys.argv) > 1 else os.environ.get("HUBCAST_URL", "http://localhost:8000")).rstrip("/")
WS_BASE = BASE.replace("http", "ws", 1)


async def main():
    # The callee: holds peer id peer_123 and answers every offer.
    callee = WSClient(f"{WS_BASE}/realtime/webrtc/signaling?peer_id=peer_123")

    @callee.on_message("webrtc_signal")
    async def on_offer(signal):
        print(f"peer_123 got {signal['signal_type']} from {signal['from_peer_id']}: {signal['sdp']}")
        if signal["signal_type"] == "offer":
            await callee.send_webrtc_signal(signal_type="answer", target_peer_id=signal["from_peer_id"], sdp="v=0 answer")

    await callee.connect()

    client = WSClient(f"{WS_BASE}/realtime/ws")
    answered = asyncio.Event()

    @client.on_message("webrtc_signal")
    def on_answer(signal):
        print(f"caller got {signal['signal_type']} from {signal['from_peer_id']}: {signal['sdp']}")
        answered.set()

    await client.connect()

    await client.send_webrtc_signal(
        signal_type="offer",
        target_peer_id="peer_123",
        sdp="v=0..."
    )

    await asyncio.wait_for(answered.wait(), 5)
    await client.disconnect()
    await callee.disconnect()


if __name__ == "__main__":
    asyncio.run(main())
