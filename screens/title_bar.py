"""The one-line title bar at the top of every screen: "mi-wizard — <the screen's subtitle>".

One Static instead of Textual's Header (an icon, a title and a clock space, each a widget of its own, with data
bindings): the same line for a fraction of the work, which the first screen pays before it is shown."""

from __future__ import annotations

from typing import Any

from textual.widgets import Static


class TitleBar(Static):
    DEFAULT_CSS = """
    TitleBar {
        dock: top;
        width: 100%;
        height: 1;
        background: $panel;
        color: $foreground;
        content-align: center middle;
    }
    """

    def on_mount(self) -> None:
        self.watch(self.screen, "sub_title", self._show)
        self.watch(self.app, "title", self._show)

    def _show(self, _: Any = None) -> None:
        title, sub_title = self.app.title, self.screen.sub_title
        self.update(f"{title} — {sub_title}" if sub_title else title)
