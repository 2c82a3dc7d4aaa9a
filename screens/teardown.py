"""Tear down a setup: the same plan as `mi-wizard destroy --plan` (what goes, what stays, and why), then a typed
confirmation (the setup's name) before anything is removed. The reading and the removing run in thread workers
through wizard.teardown; this screen builds no Azure client and writes no state."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Checkbox, Input, Static

from .base import Note
from .button import Button
from .errors import RoutesFailures, WorkFailed


class TeardownPlanned(Message):
    def __init__(self, prepared: Any):
        super().__init__()
        self.prepared = prepared


class TeardownDone(Message):
    def __init__(self, summary: str, ok: bool):
        super().__init__()
        self.summary, self.ok = summary, ok


class TeardownScreen(RoutesFailures, ModalScreen[bool]):
    """Dismissed with True once the setup was torn down, False when nothing was removed."""
    CSS_PATH = "screens.tcss"  # the styles past the first screen: loaded with the first screen that uses them

    BINDINGS = [Binding("escape", "cancel", "Cancel"),
                Binding("ctrl+r", "retry", "Retry", tooltip="Read again what this setup made.")]

    def __init__(self, services: Any, path: Path | str, name: str):
        super().__init__()
        self.services, self.path, self.setup = services, Path(path), name
        self.prepared: Any = None
        self.done = False
        self.plan_failed = False

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="teardown"):
            yield Static(f"Tear down {self.setup}", classes="title")
            with VerticalScroll(id="teardown-plan-box"):
                yield Static("Reading what this setup made…", id="teardown-plan", markup=False)
            yield Checkbox("Purge the vault it made (frees its name; never under purge protection)", id="purge")
            yield Static(f"Type the setup's name ({self.setup}) to tear it down:", classes="lead")
            yield Input(placeholder=self.setup, id="confirm-name")
            yield Note("", id="teardown-note")
            with Horizontal(classes="buttons"):
                yield Button("Tear down", variant="error", id="teardown-go", disabled=True)
                yield Button("Cancel", id="teardown-cancel")

    def on_mount(self) -> None:
        self.plan_it()

    @work(thread=True, group="teardown", exclusive=True, exit_on_error=False,
          description="read what this setup made")
    def plan_it(self, purge: bool = False) -> None:
        from wizard import teardown
        self.post_message(TeardownPlanned(teardown.prepare(self.services.session, self.path, purge=purge)))

    def on_teardown_planned(self, message: TeardownPlanned) -> None:
        self.prepared = message.prepared
        self.query_one("#teardown-plan", Static).update(message.prepared.plan.describe())
        self._ready()

    def on_work_failed(self, message: WorkFailed) -> None:
        """screens.errors' one format, in place: the plan's box, or the note under the buttons."""
        message.shown = True
        if message.work == "teardown":
            self.prepared, self.plan_failed = None, True
            self.refresh_bindings()
            self.query_one("#teardown-plan", Static).update(message.failure.text() + "\nCtrl+R tries again.")
            self._ready()
        else:
            self.on_teardown_done(TeardownDone(message.failure.text() + "\nTear down again to resume.", False))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return self.plan_failed if action == "retry" else True

    def action_retry(self) -> None:
        self.plan_failed = False
        self.refresh_bindings()
        self.query_one("#teardown-plan", Static).update("Reading what this setup made…")
        self.plan_it(self.query_one("#purge", Checkbox).value)

    @on(Checkbox.Changed, "#purge")
    def purge_changed(self, event: Checkbox.Changed) -> None:
        self.prepared = None
        self._ready()
        self.query_one("#teardown-plan", Static).update("Reading what this setup made…")
        self.plan_it(event.value)

    @on(Input.Changed, "#confirm-name")
    def _typed(self) -> None:
        self._ready()

    def _ready(self) -> None:
        typed = self.query_one("#confirm-name", Input).value.strip() == self.setup
        self.query_one("#teardown-go", Button).disabled = not (typed and self.prepared is not None and not self.done)

    @on(Input.Submitted, "#confirm-name")
    @on(Button.Pressed, "#teardown-go")
    def go(self) -> None:
        if self.query_one("#teardown-go", Button).disabled:
            return
        self.query_one("#teardown-go", Button).disabled = True
        self.query_one("#teardown-note", Note).say("Tearing down…")
        self.carry_out()

    @work(thread=True, group="teardown-run", exclusive=True, exit_on_error=False, description="tear down the setup")
    def carry_out(self) -> None:
        import threading

        from wizard import teardown
        cancel = threading.Event()
        self.services.cancels.add(cancel)
        try:
            final = teardown.carry_out(self.prepared, cancel=cancel)
            kept = final.teardown.get("kept", [])
            self.post_message(TeardownDone(f"Torn down. {len(kept)} kept (adopted or not this setup's).", True))
        finally:  # a failure goes the one route (on_work_failed): a rerun resumes where it stopped
            self.services.cancels.discard(cancel)

    def on_teardown_done(self, message: TeardownDone) -> None:
        self.done = message.ok
        self.query_one("#teardown-note", Note).say(message.summary, "ok" if message.ok else "error")
        self.query_one("#teardown-cancel", Button).label = "Close"
        self._ready()

    @on(Button.Pressed, "#teardown-cancel")
    def action_cancel(self) -> None:
        self.dismiss(self.done)
