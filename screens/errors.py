"""The one route for failures in the UI.

Workers do not catch: a worker that raises ends in Worker.StateChanged (ERROR) on the node that started it, and
`RoutesFailures` turns that into one WorkFailed message carrying a `Failure`. WorkFailed bubbles from that node
to its screen and on to the app: a widget may mark its list as not loaded, the screen shows the failure in place
(with Ctrl+R to load again) and whatever nobody showed becomes one notice at the app. Actions an event handler
starts (saving a choice, opening a setup) run as workers too (`run_action`), so nothing in screens/ catches. So there is one format everywhere: what could not
be done, the plain explanation, Azure's code and own message, and the fix.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from textual.message import Message
from textual.worker import WorkerState


@dataclass(frozen=True)
class Failure:
    doing: str
    """What could not be done, as a phrase after "Could not" ("list the identities")."""
    code: str
    message: str
    """Azure's own message (or mi-wizard's refusal, which already says what to do)."""
    explanation: str
    fix: str

    @classmethod
    def of(cls, error: BaseException, doing: str) -> Failure:
        from wizard.azure.errors import explain
        info = explain(error)
        return cls(doing, info.code, info.message, info.explanation, info.fix)

    def text(self) -> str:
        """The failure as every screen and notice shows it."""
        lines = [f"Could not {self.doing}. {self.explanation}"]
        if self.message and self.message.strip() != self.explanation.strip():
            lines.append(f"Azure said ({self.code}): {self.message}")
        elif self.code:
            lines[0] += f" ({self.code})"
        if self.fix:
            lines.append(f"Fix: {self.fix}")
        return "\n".join(lines)

    def line(self) -> str:
        """One short line, for a list's placeholder: the whole failure is shown above, under the title."""
        return f"Not loaded ({self.code}): see above"


class WorkFailed(Message):
    """Something the person asked for (or a list the screen needs) failed. Bubbles to the screen, then the app."""

    def __init__(self, work: str, failure: Failure) -> None:
        super().__init__()
        self.work = work
        """The worker's group (or the action's name): which part of the screen failed."""
        self.failure = failure
        self.shown = False
        """Set by whoever showed it in place; the app shows a notice for what nobody showed."""


def doing_of(worker: Any) -> str:
    description = (worker.description or "").strip()
    return description or f"finish {worker.group.replace('-', ' ')}"


class RoutesFailures:
    """For every node that starts workers (screens, widgets with lists, the app): a failed worker becomes one
    WorkFailed, posted where the worker was started."""

    def on_worker_state_changed(self, event: Any) -> None:
        worker = event.worker
        if event.state is WorkerState.ERROR and worker.error is not None:
            self.post_message(WorkFailed(worker.group, Failure.of(worker.error, doing_of(worker))))  # type: ignore[attr-defined]


def run_action(node: Any, doing: str, action: Callable[[], None], *, after: Callable[[], None] | None = None) -> None:
    """Carry out `action` (quick work on the event loop: saving a choice, opening a setup) as a worker, so that its
    failure takes the same route as any worker's: nothing in screens/ catches. What comes after the action
    (switching the screen...) belongs inside it, so it happens only when the action worked. `after` runs either
    way (quitting goes on when the state cannot be written). Keys typed meanwhile wait for it, as during a screen
    switch: the action may change the screen they are meant for."""
    app = node.app
    app.hold_keys()

    async def work() -> None:
        try:
            action()
        finally:
            if after is not None:
                after()
            app.call_later(app.release_keys)
    node.run_worker(work, group="action", description=doing, exit_on_error=False)


def notify_failure(app: Any, message: WorkFailed) -> None:
    """The notice for a failure nobody showed in place."""
    if not message.shown:
        message.shown = True
        app.notify(message.failure.text(), title=f"Could not {message.failure.doing}", severity="error",
                   markup=False, timeout=15)
