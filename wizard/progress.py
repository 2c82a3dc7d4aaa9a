"""Progress events the engine emits. The UI turns them into messages; the CLI prints them; tests record them.

No Textual here: a sink is any callable taking an event.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

_E = TypeVar("_E")

STDERR_LOCK = threading.Lock()
"""Held while one whole line goes to stderr: progress events and --debug lines come from the steps' threads."""

DONE_WORDS = {"create": "created", "update": "updated", "adopt": "adopted", "nothing": "unchanged",
              "recover": "recovered", "check": "checked"}
"""A finished step's plan action, as what happened."""


class Cancelled(Exception):
    """The user stopped a wait or a run; the state records where, and a resume continues from there."""


@dataclass
class Event:
    step: str


@dataclass
class StepStarted(Event):
    title: str
    action: str


@dataclass
class StepMessage(Event):
    text: str


@dataclass
class Waiting(Event):
    """A known Azure delay being waited out: the UI shows a countdown and "keep waiting / stop"."""

    reason: str
    elapsed_s: float
    limit_s: float
    next_check_s: float


@dataclass
class OperationStarted(Event):
    """A long-running operation is in flight; its continuation token is already in the state."""

    operation: str


@dataclass
class StepFinished(Event):
    action: str
    outputs: dict[str, Any] = field(default_factory=dict)


@dataclass
class StepFailed(Event):
    code: str
    explanation: str
    fix: str
    message: str = ""


@dataclass
class CheckResult(Event):
    """One link of the verification chain."""

    link: str
    ok: bool
    detail: str
    fix: str = ""
    pending: bool = False
    """True when the link is not broken but not effective yet (a grant propagating)."""


class ProgressSink(Protocol):
    def __call__(self, event: Event) -> None: ...


def null_sink(event: Event) -> None:
    """A sink that ignores everything."""


class RecordingSink:
    """Keeps every event (tests, and the CLI's --json output)."""

    def __init__(self, forward: Callable[[Event], None] | None = None):
        self.events: list[Event] = []
        self._lock = threading.Lock()
        self._forward = forward

    def __call__(self, event: Event) -> None:
        with self._lock:
            self.events.append(event)
        if self._forward:
            self._forward(event)

    def of(self, kind: type[_E]) -> list[_E]:
        with self._lock:
            return [e for e in self.events if isinstance(e, kind)]
