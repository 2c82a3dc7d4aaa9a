"""Apply: the engine runs in a thread worker; its progress arrives as messages: a status per step, a live log,
long operations with their elapsed time, and propagation waits with a countdown and "keep waiting / stop"."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from typing import Any

from rich.text import Text
from textual import on, work
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widget import Widget
from textual.widgets import DataTable, ProgressBar, RichLog

from wizard import progress as ev

from .base import Note, WizardScreen
from .button import Button
from .dialogs import secret_prompt
from .errors import Failure, WorkFailed
from .fit import indented
from .flow import Applied, ReviewConfirmed
from .messages import ApplyEnded, EngineProgressed, Verified
from .step_log import StepLog

STATUS = {"pending": Text("·  pending", "dim"), "running": Text("…  running", "yellow"),
          "waiting": Text("⏸  waiting", "yellow"), "done": Text("✓  done", "green"), "failed": Text("✗  failed", "red"),
          "skipped": Text("-  skipped", "dim")}

HELP = """
Each step runs as soon as what it needs is done (the identity is created while the vault's longer creation
runs). Everything is saved after every step: **quitting here, Ctrl+Q, or even closing the terminal never
corrupts the setup**; start mi-wizard again and Resume carries on from where it stopped.

**Waits.** Azure is eventually consistent: a new identity takes a while to be known to role assignments, and a
new grant takes a while (up to 10 minutes) to reach Key Vault. mi-wizard checks again with growing pauses and
shows a countdown. *Keep waiting* lets it go on; *Stop and resume later* stops cleanly.
"""


class ApplyScreen(WizardScreen):
    SCREEN_ID = "apply"
    LEAD = "Making the changes. Every step is saved as it finishes."
    HELP = HELP
    NEXT = "Continue"
    SAVES_TYPED = False
    BINDINGS = [Binding("ctrl+n", "next", "Continue"), Binding("k", "keep_waiting", "Keep waiting", show=False),
                Binding("ctrl+s", "stop", "Stop", show=False)]

    def __init__(self, services: Any, confirmed: ReviewConfirmed | None = None):
        super().__init__(services)
        self.confirmed = confirmed
        """Given by the review's Apply: start at once. None: a resumed (or stopped) apply, which asks first."""
        self.running = False
        self.cancel: threading.Event | None = None
        self.operation: tuple[str, str, float] | None = None
        """(step, what it waits for, since): the long-running operation in flight."""
        """(what, started) of the long-running operation in flight."""
        self.wait: ev.Waiting | None = None
        self.wait_seen = 0.0
        self.done: dict[str, str] = {}
        self.titles: dict[str, str] = {}
        """Each step's title, as its StepStarted said: the log speaks of steps by title, never by id."""
        """Step id -> status shown in its row."""
        self.reviewed: list[dict[str, Any]] | None = None
        """The plan shown after Azure changed since the review: Continue applies exactly it (or says again what
        changed); None: Continue carries on from Azure as it is (a resumed or stopped apply)."""

    def compose_body(self) -> Iterable[Widget]:
        yield DataTable(id="steps", cursor_type="none", show_header=False)
        yield Note("", id="status")
        with Vertical(id="wait"):
            yield Note("", id="wait-text")
            yield ProgressBar(id="wait-bar", show_eta=False)
            with Horizontal(classes="buttons"):
                yield Button("Keep waiting", id="keep", compact=True)
                yield Button("Stop and resume later", id="stop", variant="warning", compact=True)
        with Horizontal(id="operation"):
            yield ProgressBar(id="op-bar", total=None, show_eta=False, show_percentage=False)
            yield Note("", id="op-text")
        yield RichLog(id="log", markup=False, wrap=True, min_width=20)

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#steps", DataTable).add_columns("step", "status")
        statuses = self._show_plan()
        self.query_one("#wait").display = False
        self.query_one("#operation").display = False
        self.set_interval(1.0, self._tick)
        if self.confirmed is not None:
            self.start(reviewed=self.draft.planned())
        else:
            stopped = [s for s, v in statuses.items() if v in ("running", "waiting", "failed")]
            finished = sum(1 for v in self.done.values() if v == "done")  # the setups list counts the same steps
            self.query_one("#status", Note).say(
                "This setup stopped during apply" + (f" (at {', '.join(stopped)})" if stopped else "") +
                f", {finished} of {len(self.done)} steps done. Continue re-reads Azure and carries on from there.",
                "warn")
            self.can_advance = True

    def _show_plan(self) -> dict[str, str]:
        """One row per step of the confirmed plan, with its saved status; returns the statuses."""
        table = self.query_one("#steps", DataTable)
        table.clear()
        statuses = self.draft.statuses()
        self.done = {item["step"]: statuses.get(item["step"], "pending") for item in self.draft.planned()}
        for item in self.draft.planned():
            table.add_row(item["title"], STATUS.get(statuses.get(item["step"], "pending")), key=item["step"])
        return statuses

    # -- running ------------------------------------------------------------------------------------------
    def action_next(self) -> None:
        if self.can_advance and not self.running:
            self.start(reviewed=self.reviewed)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "back" and self.running:
            return None  # stop first: going back mid-run would leave the plan and the state apart
        return super().check_action(action, parameters)

    def action_back(self) -> None:
        if not self.running:
            super().action_back()

    def start(self, reviewed: list[dict[str, Any]] | None = None) -> None:
        """Apply; `reviewed`: the plan the person just confirmed, which is what must run (or nothing does)."""
        self.running, self.can_advance = True, False
        self.cancel = threading.Event()
        self.services.cancels.add(self.cancel)
        self.query_one("#status", Note).say("Re-reading Azure, then applying…")
        self.refresh_bindings()
        self.run_engine(self.cancel, reviewed)

    @work(thread=True, group="apply", exclusive=True, exit_on_error=False, description="apply the setup")
    def run_engine(self, cancel: threading.Event, reviewed: list[dict[str, Any]] | None = None) -> None:
        from wizard.engine import PlanError, RunFailed
        from wizard.workspace import PlanChanged
        draft, secret = self.draft, self.services.secret
        try:
            source = draft.secret_source(secret.get if secret else None)
            workspace = draft.workspace(self.services.session, sink=lambda e: self.post_message(EngineProgressed(e)),
                                        cancel=cancel, secret_source=source)
            plan = workspace.plan()
            secret_item = plan.item("secret")
            if source is None and secret_item is not None and secret_item.problems:
                self.post_message(ApplyEnded("needs_secret"))
                return
            applied = workspace.apply(plan, promised=reviewed)
            self.post_message(Verified(applied.report.to_dict() if applied.report else {}))
        except PlanChanged as changed:  # Azure moved on since the review: show what changed, ask again
            draft.record_plan(changed.fresh)
            self.post_message(ApplyEnded("changed", problems=changed.changes))
        except ev.Cancelled:
            self.post_message(ApplyEnded("stopped"))
        except PlanError as err:
            self.post_message(ApplyEnded("problems", problems=err.problems))
        except RunFailed as err:  # a step failed (Azure's answer, explained): the same format as any failure
            title = self.titles.get(err.step, err.step)
            failure = Failure(f"finish {title}", err.code, err.message, err.explanation, err.fix)
            self.post_message(ApplyEnded("failed", failure.text(), err.fix))
        finally:  # anything else (a locked state, an expired sign-in…) goes the one route: on_work_failed
            self.services.cancels.discard(cancel)

    # -- progress -----------------------------------------------------------------------------------------
    def _step_log(self) -> StepLog:
        """The log, grouped by step (parallel steps' lines never interleave: screens.step_log)."""
        found = self.__dict__.get("_grouped_log")
        if found is None:
            found = self.__dict__["_grouped_log"] = StepLog(self.query_one("#log", RichLog).write)
        return found

    def on_engine_progressed(self, message: EngineProgressed) -> None:
        event, log = message.event, self._step_log()
        if isinstance(event, ev.Waiting):
            self._show_wait(event)
            return
        if self.wait is not None and self.wait.step == event.step:
            self._show_wait(None)
        if isinstance(event, ev.StepStarted):
            self._row(event.step, "running")
            self.titles[event.step] = event.title
            log.start(event.step, indented("> ", f"{event.title}: {event.action}"))
        elif isinstance(event, ev.StepMessage):
            log.line(event.step, indented("  ", event.text))
        elif isinstance(event, ev.OperationStarted):
            self.operation = (event.step, f"{self.titles.get(event.step, event.step)}: "
                              f"{event.operation.replace('_', ' ')} (long-running)", time.monotonic())
            self.query_one("#operation").display = True
            self._tick()
        elif isinstance(event, ev.StepFinished):
            self._row(event.step, "done")
            self._end_operation(event.step)
            log.end(event.step, indented("  done: ", f"{self.titles.get(event.step, event.step)} "
                                        f"({ev.DONE_WORDS.get(event.action, event.action)})"))
        elif isinstance(event, ev.StepFailed):
            self._row(event.step, "failed")
            self._end_operation(event.step)
            log.line(event.step, indented("  FAILED ", f"{event.code}: {event.explanation}"))
            log.end(event.step, indented("  fix: ", event.fix), failed=True)
        elif isinstance(event, ev.CheckResult):
            mark = "ok" if event.ok else ("..." if event.pending else "BROKEN")
            log.line(event.step, indented(f"  [{mark}] ", f"{event.link}: {event.detail}"))

    def _row(self, step: str, status: str) -> None:
        table = self.query_one("#steps", DataTable)
        if step in {k.value for k in table.rows}:
            table.update_cell(step, table.ordered_columns[1].key, STATUS[status])
            self.done[step] = status
            finished = sum(1 for v in self.done.values() if v == "done")
            self.query_one("#status", Note).say(f"Applying: {finished} of {table.row_count} steps done.")

    def _end_operation(self, step: str) -> None:
        if self.operation and self.operation[0] == step:
            self.operation = None
            self.query_one("#operation").display = False

    def _show_wait(self, event: ev.Waiting | None) -> None:
        self.wait, self.wait_seen = event, time.monotonic()
        box = self.query_one("#wait")
        box.display = event is not None
        if event is not None:
            self.query_one("#wait-bar", ProgressBar).update(total=event.limit_s, progress=event.elapsed_s)
            self._tick()

    def _tick(self) -> None:
        if self.wait is not None:
            w = self.wait
            left = max(0.0, w.next_check_s - (time.monotonic() - self.wait_seen))
            self.query_one("#wait-text", Note).say(
                f"Waiting for {w.reason}: {w.elapsed_s:.0f} s so far, at most {w.limit_s:.0f} s. Next check in "
                f"{left:.0f} s.", "warn")
        if self.operation is not None:
            _, what, started = self.operation
            self.query_one("#op-text", Note).say(f"{what}: {time.monotonic() - started:.0f} s")

    @on(Button.Pressed, "#keep")
    def action_keep_waiting(self) -> None:
        self.query_one("#log", RichLog).focus()  # nothing to do: the wait goes on by itself

    @on(Button.Pressed, "#stop")
    def action_stop(self) -> None:
        if self.cancel is not None:
            self.cancel.set()
            self.query_one("#status", Note).say("Stopping at the next check…", "warn")

    # -- endings ------------------------------------------------------------------------------------------
    def on_work_failed(self, message: WorkFailed) -> None:
        if message.work == "apply":  # shown above by the base screen; here: the run has ended
            self.on_apply_ended(ApplyEnded("error"))

    def on_apply_ended(self, message: ApplyEnded) -> None:
        self._step_log().flush()  # a stopped or failed run: the lines still grouped are written now
        self.running, self.wait, self.operation = False, None, None
        self.refresh_bindings()
        self.query_one("#wait").display = self.query_one("#operation").display = False
        self.draft.reload()
        # After "changed" the plan shown (saved by the worker) is the one Continue must carry out as it is.
        self.reviewed = self.draft.planned() if message.outcome == "changed" else None
        status = self.query_one("#status", Note)
        if message.outcome == "needs_secret":
            self.app.push_screen(secret_prompt(self.draft.spec.secret.name), self._got_secret)
            status.say("The secret's value is needed (it is never saved).", "warn")
        elif message.outcome == "stopped":
            status.say("Stopped. Everything done so far is saved: quit now and Resume later, or Continue.", "warn")
        elif message.outcome == "problems":
            status.say("The plan found problems (nothing changed): " + " ".join(message.problems), "error")
        elif message.outcome == "changed":
            self._show_plan()  # steps newly planned or no longer planned
            status.say("Azure changed since you reviewed the plan, so nothing was changed yet:\n"
                       + "\n".join(f"  • {c}" for c in message.problems)
                       + "\nContinue applies the plan as it is now; Esc goes back to review it.", "warn")
        else:
            status.say((f"{message.detail}\n" if message.detail else "") + "The setup is saved: fix it and Continue.",
                       "error")
        self.can_advance = message.outcome != "problems"

    def _got_secret(self, value: str | None) -> None:
        if value:
            self.services.secret.set(value)
            self.start()

    def on_verified(self, message: Verified) -> None:
        self.running = False
        self.app.navigate(self, "next", result=Applied(message.report))
