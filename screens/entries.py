"""A screen's list of things added one by one (federated credentials, extra grants): a row each, and the
highlighted one removed on request. The screen keeps the form; this keeps what the form has added."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from textual import on
from textual.binding import Binding
from textual.widgets import DataTable

from .base import WizardScreen
from .button import Button


class EntryTable(DataTable):
    """`entries` are plain dicts (as the spec keeps them); `row(entry)` gives the cells shown for one."""

    def __init__(self, columns: Sequence[str], row: Callable[[dict[str, Any]], Sequence[Any]], *,
                 id: str | None = None):
        super().__init__(id=id, cursor_type="row", show_header=False)
        self.columns_shown, self.row = tuple(columns), row
        self.entries: list[dict[str, Any]] = []

    def on_mount(self) -> None:
        self.add_columns(*self.columns_shown)
        self.show()

    def set_entries(self, entries: list[dict[str, Any]]) -> None:
        self.entries = list(entries)
        self.show()

    def add(self, entry: dict[str, Any]) -> None:
        self.entries.append(entry)
        self.show()

    def remove_selected(self) -> bool:
        """Remove the highlighted entry; False when there is none."""
        if not self.entries or not 0 <= self.cursor_row < len(self.entries):
            return False
        del self.entries[self.cursor_row]
        self.show()
        return True

    def show(self) -> None:
        if not self.columns:
            return  # not mounted yet: on_mount shows them
        self.clear()
        for n, entry in enumerate(self.entries):
            self.add_row(*self.row(entry), key=str(n))
        self.display = bool(self.entries)


class EntriesScreen(WizardScreen):
    """A wizard screen with a form that adds entries to its EntryTable (Ctrl+T), and removes the highlighted
    one (Delete on the list, or the "#remove" button). Subclasses implement `action_add` and `check`."""

    BINDINGS = [Binding("delete", "remove", "Remove", show=False)]

    @property
    def table(self) -> EntryTable:
        return self.query_one(EntryTable)

    @property
    def entries(self) -> list[dict[str, Any]]:
        return self.table.entries

    @on(Button.Pressed, "#remove")
    def action_remove(self) -> None:
        if self.table.remove_selected():
            self.check()

    def check(self, _: Any = None) -> None:
        raise NotImplementedError
