"""The realtime guide's monitoring: connection stats of the gateway named by ``HUBCAST_URL``.

    HUBCAST_URL=http://localhost:8000 python3 examples/monitoring.py
"""

import asyncio

from hubcast import connection_manager


async def main():
    stats = await connection_manager.get_connection_stats()
    print(f"Active connections: {stats['websocket_count']}")
    print(f"SSE connections: {stats['sse_count']}")


if __name__ == "__main__":
    asyncio.run(main())
