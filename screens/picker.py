"""A filter box over a FilterList whose rows load page by page in a thread worker.

Typing goes to the filter; Up/Down move in the list from the box; Enter chooses the highlighted row.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.events import Key
from textual.widgets import Input

from .filter_list import FilterList, Row
from .messages import LoadFailed, PageLoaded


class Picker(Vertical):
    """`load()` runs `pages()` (an iterator of row lists) in a thread and shows rows as they come."""

    DEFAULT_CSS = """
    Picker { height: 1fr; min-height: 6; }
    """

    def __init__(self, *, placeholder: str = "Type to filter", empty: str = "Nothing here.", id: str | None = None):
        super().__init__(id=id)
        self.placeholder, self.empty = placeholder, empty
        self.wanted: str | None = None
        """The key to highlight when its row arrives (the saved choice)."""

    def compose(self) -> ComposeResult:
        yield Input(placeholder=self.placeholder, classes="filter", compact=True)
        yield FilterList(empty=self.empty)

    @property
    def list(self) -> FilterList:
        return self.query_one(FilterList)

    @property
    def filter_input(self) -> Input:
        return self.query_one(Input)

    def load(self, pages: Callable[[], Iterator[list[Row]]], *, wanted: str | None = None,
             filter_text: str = "") -> None:
        self.wanted = wanted
        self.list.clear_rows()
        if filter_text:
            self.filter_input.value = filter_text
        self._load(pages)

    @work(thread=True, group="pages", exclusive=True, exit_on_error=False)
    def _load(self, pages: Callable[[], Iterator[list[Row]]]) -> None:
        try:
            for page in pages():
                self.post_message(PageLoaded(self.id or "", page))
            self.post_message(PageLoaded(self.id or "", [], done=True))
        except Exception as exc:  # noqa: BLE001 - shown in place of the list
            from wizard.azure.errors import explain
            info = explain(exc)
            self.post_message(LoadFailed(self.id or "", f"{info.code}: {info.explanation} {info.fix}"))

    def on_page_loaded(self, message: PageLoaded) -> None:
        # Not stopped: the screen may want to know (e.g. "all loaded").
        self.list.add_rows(message.rows, done=message.done)
        if self.wanted and self.list.select_key(self.wanted):
            self.wanted = None

    def on_load_failed(self, message: LoadFailed) -> None:
        self.list.loading = False
        self.list.empty = message.reason
        self.list.refresh()

    @on(Input.Changed, ".filter")
    def _filter(self, event: Input.Changed) -> None:
        event.stop()
        self.list.set_filter(event.value)

    @on(Input.Submitted, ".filter")
    def _submit(self, event: Input.Submitted) -> None:
        event.stop()
        self.list.action_select()

    def on_key(self, event: Key) -> None:
        # Up/Down/PageUp/PageDown in the filter box move the list's cursor: filter and pick without Tab.
        if self.filter_input.has_focus and event.key in ("up", "down", "pageup", "pagedown"):
            event.stop()
            event.prevent_default()
            {"up": lambda: self.list.action_cursor(-1), "down": lambda: self.list.action_cursor(1),
             "pageup": lambda: self.list.action_page(-1), "pagedown": lambda: self.list.action_page(1)}[event.key]()


def rows_of(pages: Iterable[list[Any]], convert: Callable[[Any], Row]) -> Iterator[list[Row]]:
    for page in pages:
        yield [convert(item) for item in page]
