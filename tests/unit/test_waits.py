"""Waits end as soon as the condition holds, give up at their limit, and stop at once when cancelled."""

from __future__ import annotations

import threading

import pytest

from wizard.progress import Cancelled, RecordingSink, Waiting
from wizard.waits import WaitExpired, wait_for


class NotYet(Exception):
    pass


def test_returns_as_soon_as_the_attempt_succeeds():
    calls = []

    def attempt():
        calls.append(1)
        if len(calls) < 3:
            raise NotYet()
        return "ok"

    sink = RecordingSink()
    assert wait_for(attempt, retry_if=lambda e: isinstance(e, NotYet), step="s", reason="r", sink=sink,
                    cancel=threading.Event(), limit_s=10, first_delay_s=0.001) == "ok"
    assert len(calls) == 3 and len(sink.of(Waiting)) == 2


def test_other_errors_are_not_waited_on():
    def attempt():
        raise ValueError("real problem")

    with pytest.raises(ValueError):
        wait_for(attempt, retry_if=lambda e: isinstance(e, NotYet), step="s", reason="r", sink=RecordingSink(),
                 cancel=threading.Event(), limit_s=10)


def test_gives_up_at_the_limit_with_the_last_error():
    def attempt():
        raise NotYet()

    with pytest.raises(WaitExpired) as err:
        wait_for(attempt, retry_if=lambda e: isinstance(e, NotYet), step="s", reason="r", sink=RecordingSink(),
                 cancel=threading.Event(), limit_s=0.05, first_delay_s=0.01)
    assert isinstance(err.value.last_error, NotYet)


def test_cancel_stops_the_wait_at_once():
    cancel = threading.Event()

    def attempt():
        raise NotYet()

    def sink(event):
        cancel.set()  # the user pressed "stop and resume later" at the first countdown

    with pytest.raises(Cancelled):
        wait_for(attempt, retry_if=lambda e: isinstance(e, NotYet), step="s", reason="r", sink=sink, cancel=cancel,
                 limit_s=3600, first_delay_s=60)
