"""Listeners by name, usable as decorators or with plain callables; sync or async."""

from __future__ import annotations

import inspect
import logging
from typing import Any, Callable, Dict, List, Optional, TypeVar, overload

logger = logging.getLogger("hubcast")

F = TypeVar("F", bound=Callable[..., Any])


class Emitter:
    def __init__(self) -> None:
        self._listeners: Dict[str, List[Callable[..., Any]]] = {}

    @overload
    def on(self, name: str) -> Callable[[F], F]: ...

    @overload
    def on(self, name: str, fn: F) -> F: ...

    def on(self, name: str, fn: Optional[F] = None) -> Any:
        """``@emitter.on("x")`` or ``emitter.on("x", fn)``; both return the function."""
        if fn is None:

            def decorator(f: F) -> F:
                self._listeners.setdefault(name, []).append(f)
                return f

            return decorator
        self._listeners.setdefault(name, []).append(fn)
        return fn

    def off(self, name: str, fn: Callable[..., Any]) -> None:
        listeners = self._listeners.get(name)
        if listeners and fn in listeners:
            listeners.remove(fn)

    def has(self, name: str) -> bool:
        return bool(self._listeners.get(name))

    async def emit(self, name: str, value: Any) -> None:
        """Call the listeners in order, awaiting async ones. A listener's exception is
        logged (with its traceback) and does not stop the others or the client."""
        for fn in list(self._listeners.get(name, ())):
            try:
                result = fn(value)
                if inspect.isawaitable(result):
                    await result
            except Exception:  # noqa: BLE001 - a listener's bug must not kill the connection
                logger.exception("hubcast: %r listener %r raised", name, getattr(fn, "__name__", fn))
