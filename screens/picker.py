"""A filter box over a FilterList whose rows load page by page in a thread worker.

Typing goes to the filter; Up/Down move in the list from the box; Enter chooses the highlighted row.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from functools import partial
from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.events import Key
from textual.widgets import Input

from .errors import RoutesFailures, WorkFailed
from .filter_list import FilterList, Row
from .messages import PageLoaded


class Picker(RoutesFailures, Vertical):
    """`load()` runs `pages()` (an iterator of row lists) in a thread and shows rows as they come."""

    DEFAULT_CSS = """
    Picker { height: 1fr; min-height: 6; }
    """

    def __init__(self, *, what: str, placeholder: str = "Type to filter", empty: str = "Nothing here.",
                 id: str | None = None):
        super().__init__(id=id)
        self.what = what
        """What the list holds ("subscriptions"): a failure says "Could not list the subscriptions"."""
        self.placeholder, self.empty = placeholder, empty
        self.wanted: str | None = None
        """The key to highlight when its row arrives (the saved choice)."""
        self.pages: Callable[[], Iterator[list[Row]]] | None = None
        """What the list shows, for loading it again (`reload`, Ctrl+R after a failure)."""

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
        self.wanted, self.pages = wanted, pages
        if filter_text:
            self.filter_input.value = filter_text
        self.reload()

    def reload(self) -> None:
        if self.pages is not None:
            self.list.empty = self.empty
            self.list.clear_rows()
            self.run_worker(partial(self._load, self.pages), thread=True, group="pages", exclusive=True,
                            exit_on_error=False, description=f"list the {self.what}")

    def _load(self, pages: Callable[[], Iterator[list[Row]]]) -> None:
        for page in pages():
            self.post_message(PageLoaded(self.id or "", page))
        self.post_message(PageLoaded(self.id or "", [], done=True))

    def on_page_loaded(self, message: PageLoaded) -> None:
        # Not stopped: the screen may want to know (e.g. "all loaded").
        self.list.add_rows(message.rows, done=message.done)
        if self.wanted and self.list.select_key(self.wanted):
            self.wanted = None

    def on_work_failed(self, message: WorkFailed) -> None:
        # Not stopped: the screen shows the failure (and offers Ctrl+R); the list says it is not there.
        self.list.loading = False
        self.list.empty = message.failure.line()
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
