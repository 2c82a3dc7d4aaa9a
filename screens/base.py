"""What every wizard screen shares: header and footer, Back / Next / Help bindings, and the save-on-move rule.

A screen says what was typed (`typed()`, kept when going back even if invalid) and what was chosen
(`collect()`: answers plus a spec patch, or None while something is invalid). The app saves both through
wizard.draft when the person moves, so quitting anywhere resumes at the same screen with the same values.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.reactive import reactive
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import RadioButton, RadioSet, Static

from .button import Button
from .errors import RoutesFailures, WorkFailed
from .flow import step_counter
from .key_bar import KeyBar
from .order import SCREEN_TITLES
from .services import Services
from .title_bar import TitleBar

Collected = tuple[dict[str, Any], dict[str, Any]]


class Note(Static):
    """A one-paragraph status line: `ok`, `error`, `warn` or plain (classes style it)."""

    def say(self, text: str, kind: str = "") -> None:
        self.set_classes(kind)
        self.update(text)


def chosen(radios: RadioSet, default: str) -> str:
    """The name of the radio button that is on (buttons set from code show in `value` before the set's
    `pressed_button` catches up)."""
    pressed = radios.pressed_button
    if pressed is not None and pressed.name and pressed.value:
        return pressed.name
    return next((b.name for b in radios.query(RadioButton) if b.value and b.name), default)


def field(label: str, widget: Widget) -> Horizontal:
    """One labelled line: a compact input or select beside its label (80x24 leaves no room for borders)."""
    return Horizontal(Static(label, classes="field-label"), widget, classes="field")


class WizardScreen(RoutesFailures, Screen):
    CSS_PATH = "screens.tcss"  # the styles past the first screen: loaded with the first screen that uses them
    SCREEN_ID: ClassVar[str] = ""
    LEAD: ClassVar[str] = ""
    """One or two sentences under the title: what this step is for."""
    HEADING: ClassVar[str] = ""
    """The title, when not the step's (a target kind's own screen names its kind)."""
    HELP: ClassVar[str] = ""
    """Markdown shown by the help screen (F1) for this step."""
    NEXT: ClassVar[str] = "Next"
    SAVES_TYPED: ClassVar[bool] = True
    """Quitting saves what is typed here (not on Apply: the engine owns the state while it runs)."""
    """The label of the forward button (Review says Apply)."""
    RETRIES: ClassVar[frozenset[str]] = frozenset()
    """The workers (groups) whose failure Ctrl+R tries again, by `load_data()`: the lists this screen reads."""

    BINDINGS = [
        Binding("escape", "back", "Back", tooltip="Go back; what you typed here is kept."),
        Binding("ctrl+n", "next", "Next", tooltip="Save this choice and go on."),
        Binding("ctrl+r", "retry", "Retry", tooltip="Read again what could not be read."),
    ]

    can_advance: reactive[bool] = reactive(False, bindings=True)
    """Next is offered (and shown) only when every field on the screen is valid."""

    def __init__(self, services: Services):
        super().__init__()
        self.services = services

    @property
    def draft(self) -> Any:
        return self.services.draft

    def compose(self) -> ComposeResult:
        yield TitleBar()
        with VerticalScroll(id="body"):
            yield Static(self.HEADING or SCREEN_TITLES.get(self.SCREEN_ID, self.SCREEN_ID), classes="title")
            if self.LEAD:
                yield Static(self.LEAD, classes="lead")
            failure = Note("", id="failure", classes="error")
            failure.display = False
            yield failure
            yield from self.compose_body()
        with Horizontal(id="nav"):
            yield Button("< Back", id="nav-back", compact=True)
            yield Static("", id="nav-status")
            yield Button(self.NEXT + " >", id="nav-next", variant="primary", compact=True, disabled=True)
        yield KeyBar()

    def compose_body(self) -> Iterable[Widget]:
        return ()

    def on_mount(self) -> None:
        name = self.draft.name if self.draft is not None else "new setup"
        self.sub_title = f"{name} · {step_counter(self.draft, self.SCREEN_ID)}"
        self.watch_can_advance(self.can_advance)

    @on(Button.Pressed, "#nav-next")
    def _next_pressed(self) -> None:
        self.action_next()

    @on(Button.Pressed, "#nav-back")
    def _back_pressed(self) -> None:
        self.action_back()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "next" and not self.can_advance:
            return None  # shown dimmed in the footer (the key itself is answered by on_key: it says why)
        if action == "retry":
            return bool(self.failed_loads)  # offered only while something could not be read
        return True

    # -- failures (screens.errors: the one route) ---------------------------------------------------------
    @property
    def failed_loads(self) -> set[str]:
        return self.__dict__.setdefault("_failed_loads", set())

    @property
    def shown_failures(self) -> dict[str, str]:
        """work -> the failure's text, as shown (each part of the screen that failed, once)."""
        return self.__dict__.setdefault("_shown_failures", {})

    def on_work_failed(self, message: WorkFailed) -> None:
        """Shown in place, above the fields, in the one format; a list that could not be read offers Ctrl+R."""
        if message.work in self.RETRIES:
            self.failed_loads.add(message.work)
            self.refresh_bindings()
        self.shown_failures[message.work] = message.failure.text()
        note = self.query_one("#failure", Note)
        note.say("\n".join(self.shown_failures.values()) + ("\nCtrl+R tries again." if self.failed_loads else ""),
                 "error")
        note.display = True
        message.shown = True

    def action_retry(self) -> None:
        self.failed_loads.clear()
        self.shown_failures.clear()
        self.refresh_bindings()
        note = self.query_one("#failure", Note)
        note.display = False
        note.say("")
        self.load_data()

    def load_data(self) -> None:
        """(Re)start the workers that read what this screen lists (RETRIES)."""

    def on_key(self, event: Any) -> None:
        if event.key == "ctrl+n" and not self.can_advance:
            event.stop()
            self.say_why_not()

    def why_not(self) -> str:
        """Why Next is not available: the screen's own status line (its problem) by default."""
        found = self.query("#status")
        text = str(found.first().render()).strip() if found else ""
        return text or "Fill in this screen first."

    def say_why_not(self) -> None:
        """Next pressed while the screen is incomplete: the reason, beside the Next button (never silence)."""
        if self.is_mounted:
            self.query_one("#nav-status", Static).update(f"Not yet: {self.why_not()}")

    def watch_can_advance(self, value: bool) -> None:
        if self.is_mounted:
            self.query_one("#nav-next", Button).disabled = not value
            if value:
                self.query_one("#nav-status", Static).update("")

    # -- what the screen knows ----------------------------------------------------------------------------
    def typed(self) -> dict[str, Any]:
        """Everything typed on this screen, valid or not (kept when going back)."""
        return {}

    def collect(self) -> Collected | None:
        """(answers, spec patch) when the screen is complete, else None (and say why)."""
        return self.typed(), {}

    def answers(self) -> dict[str, Any]:
        """What this screen saved last time (resume, or coming back to it)."""
        return self.draft.answers(self.SCREEN_ID) if self.draft is not None else {}

    # -- moving -------------------------------------------------------------------------------------------
    def action_next(self) -> None:
        if not self.can_advance:
            self.say_why_not()
            return
        collected = self.collect()
        if collected is not None:
            answers, patch = collected
            self.app.navigate(self, "next", answers=answers, spec=patch)

    def action_back(self) -> None:
        self.app.navigate(self, "back", answers=self.typed())
