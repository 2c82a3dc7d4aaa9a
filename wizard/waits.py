"""Waiting out Azure's known eventual-consistency cases: capped backoff, a visible countdown, stoppable.

A wait ends as soon as its condition holds (each check is the real call), never after a fixed sleep.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TypeVar

from .progress import Cancelled, ProgressSink, Waiting

T = TypeVar("T")


class WaitExpired(Exception):
    """The condition did not hold within the limit."""

    def __init__(self, reason: str, limit_s: float, last_error: BaseException | None):
        super().__init__(f"{reason}: still not done after {limit_s:.0f} s")
        self.reason, self.limit_s, self.last_error = reason, limit_s, last_error


def wait_for(attempt: Callable[[], T], *, retry_if: Callable[[BaseException], bool], step: str, reason: str,
             sink: ProgressSink, cancel: threading.Event, limit_s: float, first_delay_s: float = 0.25,
             max_delay_s: float = 10.0, growth: float = 1.5) -> T:
    """Call `attempt` until it returns; exceptions for which `retry_if` is true mean "not yet".

    The delay grows by `growth` from `first_delay_s` up to `max_delay_s` (a gentle growth keeps the
    overshoot past the moment the condition starts to hold small); a cancel request ends the wait at once.
    """
    start = time.monotonic()
    delay = first_delay_s
    while True:
        try:
            return attempt()
        except BaseException as exc:  # noqa: BLE001 - filtered by retry_if
            if not retry_if(exc):
                raise
            last = exc
        elapsed = time.monotonic() - start
        if elapsed >= limit_s:
            raise WaitExpired(reason, limit_s, last)
        pause = min(delay, max_delay_s, max(0.0, limit_s - elapsed))
        sink(Waiting(step=step, reason=reason, elapsed_s=elapsed, limit_s=limit_s, next_check_s=pause))
        if cancel.wait(pause):
            raise Cancelled(f"stopped while waiting: {reason}")
        delay *= growth
