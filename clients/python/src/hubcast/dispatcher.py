"""Hands received frames to listeners, in order, in a task of its own: the reader keeps reading
(a listener may await a command's reply), and a full queue stops the reader (backpressure)."""

from __future__ import annotations

import asyncio
from typing import Any, Optional

from .emitter import Emitter

_STOP = object()


class Dispatcher:
    def __init__(self, emitter: Emitter, max_pending: int) -> None:
        self._emitter = emitter
        self._max_pending = max_pending
        self._task: Optional["asyncio.Task[None]"] = None
        self._inbox: Optional["asyncio.Queue[Any]"] = None

    @property
    def task(self) -> Optional["asyncio.Task[None]"]:
        return self._task

    def start(self) -> None:
        if self._task is None or self._task.done():
            self._inbox = asyncio.Queue(self._max_pending)
            self._task = asyncio.get_running_loop().create_task(self._run(self._inbox), name="hubcast-ws-dispatch")

    async def put(self, kind: str, value: Any, star: Any = None) -> None:
        """Queue ``value`` for the ``kind`` listeners, and ``star`` (default ``value``) for ``"*"``."""
        if self._inbox is not None:
            await self._inbox.put((kind, value, value if star is None else star))

    def put_nowait(self, kind: str, value: Any) -> None:
        """Queue without waiting, not for ``"*"`` (state changes)."""
        if self._inbox is None:
            return
        try:
            self._inbox.put_nowait((kind, value, None))
        except asyncio.QueueFull:
            pass  # state changes are also readable from .state; a full queue already signals trouble

    def release(self) -> None:
        """Hand over what is queued, then end."""
        task, inbox = self._task, self._inbox
        self._task = None
        self._inbox = None
        if task is None or inbox is None:
            return
        try:
            inbox.put_nowait(_STOP)
        except asyncio.QueueFull:
            asyncio.get_running_loop().create_task(inbox.put(_STOP))

    async def _run(self, inbox: "asyncio.Queue[Any]") -> None:
        while True:
            item = await inbox.get()
            if item is _STOP:
                return
            kind, value, star = item
            await self._emitter.emit(kind, value)
            if star is not None:
                await self._emitter.emit("*", star)
