"""The help screen (F1): what the current step is for, and the keys that work everywhere."""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Markdown

KEYS = """
### Keys
| key | does |
|---|---|
| Enter | choose / confirm the focused thing |
| Tab, Shift+Tab | move between fields |
| Ctrl+N | next step (shown when everything here is valid) |
| Esc | back (what you typed is kept) |
| Ctrl+P | command palette: themes, help, home |
| F1 | this help |
| Ctrl+Q | quit: every choice is already saved; start again to resume |

Mouse: click to focus, double-click a row to choose it.
"""


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,f1,q", "close", "Close")]

    def __init__(self, under: Any):
        super().__init__()
        title = getattr(under, "SCREEN_ID", "") or "mi-wizard"
        self.text = f"## {title.replace('_', ' ').capitalize()}\n\n{getattr(under, 'HELP', '') or ''}\n{KEYS}"

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help"):
            yield Markdown(self.text)

    def action_close(self) -> None:
        self.dismiss(None)
