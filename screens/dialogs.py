"""Small modal questions: a name, a file path, a masked secret value, yes or no."""

from __future__ import annotations

from collections.abc import Callable

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from .base import Note
from .button import Button
from .key_bar import KeyBar


class AskDialog(ModalScreen[str | None]):
    """Ask for one line of text, checked as typed by `check` (None = fine, else what is wrong)."""
    CSS_PATH = "screens.tcss"  # the styles past the first screen: loaded with the first screen that uses them

    # Its own footer: the keys of the screen underneath do nothing while the dialog is open.
    BINDINGS = [Binding("enter", "submit", "OK", priority=True), Binding("escape", "cancel", "Cancel")]

    def __init__(self, title: str, prompt: str, *, value: str = "", placeholder: str = "", password: bool = False,
                 check: Callable[[str], str | None] | None = None, ok_label: str = "OK", needed: str = ""):
        super().__init__()
        self.title_text, self.prompt, self.value, self.placeholder = title, prompt, value, placeholder
        self.password, self.check, self.ok_label = password, check or (lambda _v: None), ok_label
        self.needed = needed or f"{prompt.rstrip(':.')}: type it, or Esc to cancel."

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(self.title_text, classes="title")
            yield Static(self.prompt, classes="lead")
            yield Input(self.value, placeholder=self.placeholder, password=self.password, id="answer")
            yield Note("", id="problem")
            with Horizontal(classes="buttons"):
                yield Button(self.ok_label, variant="primary", id="ok")
                yield Button("Cancel", id="cancel")
        yield KeyBar()

    def on_mount(self) -> None:
        self._show(self.value)

    def _show(self, value: str) -> str | None:
        problem = self.check(value) if value else None
        self.query_one("#problem", Note).say(problem or "", "error" if problem else "")
        self.query_one("#ok", Button).disabled = bool(problem) or not value
        return problem

    @on(Input.Changed, "#answer")
    def changed(self, event: Input.Changed) -> None:
        self._show(event.value)

    def action_submit(self) -> None:
        """Enter: presses the focused button (Cancel cancels), else answers (a priority binding, so that the
        footer shows it over the input's own)."""
        if isinstance(self.focused, Button):
            self.focused.press()
        else:
            self.ok()

    @on(Button.Pressed, "#ok")
    def ok(self) -> None:
        value = self.query_one("#answer", Input).value
        if not value:
            # Enter on an empty answer: say what is needed, in place (never a silent no-op).
            self.query_one("#problem", Note).say(self.needed, "error")
            return
        if self._show(value) is None:
            self.dismiss(value)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)


class ConfirmDialog(ModalScreen[bool]):
    CSS_PATH = "screens.tcss"  # the styles past the first screen: loaded with the first screen that uses them
    BINDINGS = [Binding("escape", "no", "Cancel")]

    def __init__(self, title: str, text: str, *, yes: str = "Yes", no: str = "No"):
        super().__init__()
        self.title_text, self.text, self.yes, self.no = title, text, yes, no

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(self.title_text, classes="title")
            yield Static(self.text, classes="lead")
            with Horizontal(classes="buttons"):
                yield Button(self.yes, variant="primary", id="yes")
                yield Button(self.no, id="no")
        yield KeyBar()

    @on(Button.Pressed, "#yes")
    def action_yes(self) -> None:
        self.dismiss(True)

    @on(Button.Pressed, "#no")
    def action_no(self) -> None:
        self.dismiss(False)


def secret_prompt(name: str) -> AskDialog:
    """Ask for the secret value again (it is never saved, so a resumed setup needs it once more)."""
    from wizard.azure.names import secret_value_problem
    return AskDialog("Secret value needed", f"{name} still has to be stored, and its value is never saved. Type or "
                     "paste it again (it stays hidden).", password=True, check=secret_value_problem,
                     ok_label="Use it", needed=f"The value of {name} is needed to store it: type or paste it (it stays "
                                               "hidden), or Esc to stop here (nothing more is changed).")
