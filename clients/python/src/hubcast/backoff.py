"""Reconnect delays: exponential backoff with full jitter.

A fleet of clients dropped together by a restart does not come back in
lockstep. The default cap (10 s) stays far below the server's default history
reach, so a client that backs off all the way still resumes.
"""

from __future__ import annotations

import random
from typing import Callable

MIN_RECONNECT_DELAY = 0.25
MAX_RECONNECT_DELAY = 10.0


def backoff_delay(
    attempt: int,
    min_delay: float = MIN_RECONNECT_DELAY,
    max_delay: float = MAX_RECONNECT_DELAY,
    rand: Callable[[], float] = random.random,
) -> float:
    """Seconds to wait before attempt ``attempt`` (0-based): uniform in ``[0, min(max, min * 2**attempt)]``."""
    cap: float = min(max_delay, min_delay * 2.0 ** min(attempt, 30))
    return float(rand() * cap)
