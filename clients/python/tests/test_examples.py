"""Every example in examples/ runs green against the gateway, as a user would run it."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path
from typing import List, Tuple

import pytest

from conftest import gateway_url

ROOT = Path(__file__).resolve().parents[1]

#: (command after the interpreter, what its output must contain)
EXAMPLES: List[Tuple[List[str], str]] = [
    (["examples/websocket_client.py"], "Received: {'type': 'text', 'data': 'Hello!'}"),
    (["examples/sse_client.py", "--seconds", "1.5"], "Notification: ServerSentEvent(event='notification'"),
    (["examples/sending.py"], "alice got on user:alice: {'message': 'Personal notification'}"),
    (["examples/webrtc_signal.py"], "caller got answer from peer_123: v=0 answer"),
    (["examples/authenticated_client.py"], "'pong': True"),
    (["examples/binary_file.py"], "file.uploaded: {"),
    (["examples/channels_and_rooms.py"], "chat_room_1 message #"),
    (["examples/monitoring.py"], "SSE connections: "),
    (["-m", "pytest", "examples/test_guide_example.py", "-q", "-p", "no:cacheprovider"], "1 passed"),
]


async def run(args: List[str]) -> Tuple[int, str]:
    env = {**os.environ, "HUBCAST_URL": gateway_url(), "PYTHONPATH": str(ROOT / "src"), "PYTHONDONTWRITEBYTECODE": "1"}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, *args, cwd=ROOT, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    try:
        out, _ = await asyncio.wait_for(proc.communicate(), 20)
    except asyncio.TimeoutError:
        proc.kill()
        out, _ = await proc.communicate()
        return -1, out.decode() + "\n(killed after 20 s)"
    return proc.returncode or 0, out.decode()


@pytest.mark.asyncio
async def test_every_example_runs_green() -> None:
    results = await asyncio.gather(*(run(args) for args, _ in EXAMPLES))
    failures = []
    for (args, expected), (code, output) in zip(EXAMPLES, results):
        if code != 0 or expected not in output:
            failures.append(f"{' '.join(args)}: exit {code}, expected {expected!r} in:\n{output}")
    assert not failures, "\n\n".join(failures)
    assert sorted(p.name for p in (ROOT / "examples").glob("*.py")) == sorted(Path(a[0] if a[0] != "-m" else a[2]).name for a, _ in EXAMPLES)
