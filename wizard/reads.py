"""Read once per run: several steps (and verify) look at the same identity, vault or role definition, and Azure
is asked once, even when they ask at the same moment from parallel steps (the first caller fetches; the others
wait for its answer instead of sending the same GET)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any


class ReadCache:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._values: dict[str, Future[Any]] = {}

    def read(self, key: str, fetch: Callable[[], Any]) -> Any:
        with self._lock:
            future = self._values.get(key)
            mine = future is None
            if mine:
                future = self._values[key] = Future()
        assert future is not None
        if mine:
            try:
                future.set_result(fetch())
            except BaseException as exc:  # the waiting callers get the same error; the next call asks again
                with self._lock:
                    self._values.pop(key, None)
                future.set_exception(exc)
        return future.result()

    def put(self, key: str, value: Any) -> None:
        future: Future[Any] = Future()
        future.set_result(value)
        with self._lock:
            self._values[key] = future

    def forget(self, key: str) -> None:
        with self._lock:
            self._values.pop(key, None)

    def peek(self, key: str, default: Any = None) -> Any:
        """The value if it has been read (never waits, never fetches)."""
        with self._lock:
            future = self._values.get(key)
        return future.result() if future is not None and future.done() and not future.exception() else default
