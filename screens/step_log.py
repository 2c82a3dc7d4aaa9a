"""The apply log, grouped by step: steps run in parallel, but each step's lines are written together.

The first step to speak owns the log and writes live; lines of steps that start meanwhile wait in their own
buffer and are written as one block when the log is free (the owner finished or failed), or at once when they
end in a failure. So a reader sees
"> Key Vault: create … done: Key Vault (created)" without another step's lines in between, and nothing is
reordered within a step. Lines of a step that never started (the verification's checks) are written as they
come when no step holds the log.
"""

from __future__ import annotations

from collections.abc import Callable

from rich.console import RenderableType


class StepLog:
    """Routes each step's lines to `write`, keeping every step's lines together (see the module doc)."""

    def __init__(self, write: Callable[[RenderableType], object]):
        self._write = write
        self._owner: str | None = None
        self._waiting: dict[str, list[RenderableType]] = {}
        """Steps that started while another held the log: their lines so far, in the order they started."""
        self._ended: set[str] = set()
        self._started: set[str] = set()

    def start(self, step: str, line: RenderableType) -> None:
        self._started.add(step)
        self._ended.discard(step)
        self.line(step, line)

    def line(self, step: str, line: RenderableType) -> None:
        if step not in self._started:  # not a step of the run (checks): only the order of arrival holds
            if self._owner is None:
                self._write(line)
            else:
                self._waiting.setdefault(step, []).append(line)
            return
        if self._owner is None and not self._waiting:
            self._owner = step
        if step == self._owner:
            self._write(line)
        else:
            self._waiting.setdefault(step, []).append(line)

    def end(self, step: str, line: RenderableType, *, failed: bool = False) -> None:
        """The step's last line (done or failed): it frees the log if it held it. A failure is written at once, as
        one block, even while another step holds the log: its reason and fix must not wait for the end of another
        step's wait (minutes, for a vault or a propagation)."""
        self.line(step, line)
        self._ended.add(step)
        if step == self._owner:
            self._owner = None
            self._release()
        elif failed:
            for waiting in self._waiting.pop(step, []):
                self._write(waiting)

    def flush(self) -> None:
        """The run ended (stopped, failed, waiting for the secret): write every waiting line now."""
        self._owner = None
        for lines in self._waiting.values():
            for line in lines:
                self._write(line)
        self._waiting.clear()

    def _release(self) -> None:
        # The next step (in the order they started) writes its lines so far and, if still running, owns the log.
        while self._owner is None and self._waiting:
            step = next(iter(self._waiting))
            for line in self._waiting.pop(step):
                self._write(line)
            if step in self._started and step not in self._ended:
                self._owner = step
