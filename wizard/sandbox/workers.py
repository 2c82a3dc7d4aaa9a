"""A bounded pool of worker threads for one listener: the handlers run here, never in the connection loop."""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable

log = logging.getLogger("wizard.sandbox")


class WorkerPool:
    """At most `size` daemon threads, started as work arrives and kept for the next request."""

    def __init__(self, size: int, name: str):
        self._size, self._name = size, name
        self._tasks: queue.SimpleQueue[Callable[[], None] | None] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._idle = self._pending = 0
        self.threads: list[threading.Thread] = []

    def submit(self, task: Callable[[], None]) -> None:
        with self._lock:
            self._pending += 1
            if self._pending > self._idle and len(self.threads) < self._size:
                thread = threading.Thread(target=self._work, name=f"{self._name}-worker-{len(self.threads)}",
                                          daemon=True)
                self.threads.append(thread)
                thread.start()
        self._tasks.put(task)

    def _work(self) -> None:
        while True:
            with self._lock:
                self._idle += 1
            task = self._tasks.get()
            with self._lock:
                self._idle -= 1
                self._pending -= 1
            if task is None:
                return
            try:
                task()
            except Exception:  # noqa: BLE001 - a worker must survive any request
                log.exception("sandbox worker failed")

    def stop(self) -> None:
        for _ in self.threads:
            self._tasks.put(None)
