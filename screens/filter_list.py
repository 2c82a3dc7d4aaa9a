"""A list that filters as you type and stays fast with tens of thousands of rows.

It draws only the visible lines (Textual's line API) from a list of matching indices, so a keystroke costs one
pass over lower-cased strings plus a screen of lines, whatever the number of rows. Rows arrive in pages
(`add_rows`) while the person already filters and picks.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rich.cells import set_cell_size
from rich.segment import Segment
from textual import events
from textual.binding import Binding
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip


@dataclass(frozen=True)
class Row:
    key: str
    label: str
    detail: str = ""
    data: Any = None


class FilterList(ScrollView, can_focus=True):
    """Rows matching every word of `filter_text`; Enter (or a click) selects the highlighted one."""

    BINDINGS = [
        Binding("up", "cursor(-1)", show=False), Binding("down", "cursor(1)", show=False),
        Binding("pageup", "page(-1)", show=False), Binding("pagedown", "page(1)", show=False),
        Binding("home", "jump(0)", show=False), Binding("end", "jump(-1)", show=False),
        Binding("enter", "select", "Choose", show=False),
    ]
    COMPONENT_CLASSES = {"filter-list--cursor", "filter-list--detail", "filter-list--note"}
    DEFAULT_CSS = """
    FilterList { height: 1fr; min-height: 3; border: round $primary 50%; }
    FilterList:focus { border: round $accent; }
    FilterList > .filter-list--cursor { background: $accent 30%; text-style: bold; }
    FilterList:focus > .filter-list--cursor { background: $accent; color: $text; }
    FilterList > .filter-list--detail { color: $text-muted; }
    FilterList > .filter-list--note { color: $text-muted; text-style: italic; }
    """

    cursor: reactive[int] = reactive(0, always_update=True)
    """Index into the matching rows."""

    @dataclass
    class Selected(Message):
        filter_list: FilterList
        row: Row

        @property
        def control(self) -> FilterList:
            return self.filter_list

    @dataclass
    class Highlighted(Message):
        filter_list: FilterList
        row: Row | None

        @property
        def control(self) -> FilterList:
            return self.filter_list

    def __init__(self, *, empty: str = "Nothing here.", id: str | None = None, classes: str | None = None):
        super().__init__(id=id, classes=classes)
        self.rows: list[Row] = []
        self._hay: list[str] = []
        self.matches: list[int] = []
        self.filter_text = ""
        self._terms: list[str] = []
        self.loading = True
        """True until the last page arrived: the empty text says "Loading…" meanwhile."""
        self.empty = empty

    # -- data ---------------------------------------------------------------------------------------------
    def add_rows(self, rows: list[Row], *, done: bool = False) -> None:
        start = len(self.rows)
        keep = self.highlighted
        self.rows.extend(rows)
        self._hay.extend(f"{r.label} {r.detail}".lower() for r in rows)
        self.matches.extend(i for i in range(start, len(self.rows)) if self._match(i))
        self.loading = not done
        self._resize()
        if keep is None and self.matches:
            self._announce()
        self.refresh()

    def clear_rows(self) -> None:
        self.rows, self._hay, self.matches, self.loading = [], [], [], True
        self.cursor = 0
        self._resize()
        self.refresh()

    def set_filter(self, text: str) -> None:
        # Typing more narrows what already matched (each new word contains an old one), so only those are
        # scanned again; one comprehension per word keeps the scan in C-speed `in` tests.
        narrowing = bool(self.filter_text) and text.lower().startswith(self.filter_text.lower())
        self.filter_text = text
        self._terms = text.lower().split()
        candidates: list[int] | range = self.matches if narrowing else range(len(self.rows))
        hay = self._hay
        for term in self._terms:
            candidates = [i for i in candidates if term in hay[i]]
        self.matches = list(candidates)
        self.scroll_to(y=0, animate=False)
        self._resize()
        self.cursor = 0
        self.refresh()

    def _match(self, index: int) -> bool:
        hay = self._hay[index]
        return all(term in hay for term in self._terms)

    def select_key(self, key: str) -> bool:
        """Highlight the row with this key (or label: a spec may name a subscription), if it matches."""
        lowered = key.lower()
        for position, index in enumerate(self.matches):
            row = self.rows[index]
            if row.key.lower() == lowered or row.label.lower() == lowered:
                self.cursor = position
                return True
        return False

    @property
    def highlighted(self) -> Row | None:
        if 0 <= self.cursor < len(self.matches):
            return self.rows[self.matches[self.cursor]]
        return None

    def _resize(self) -> None:
        self.virtual_size = Size(self.size.width, max(1, len(self.matches)))

    # -- behaviour ----------------------------------------------------------------------------------------
    def validate_cursor(self, value: int) -> int:
        return max(0, min(value, len(self.matches) - 1))

    def watch_cursor(self, old: int, new: int) -> None:
        self.scroll_to_region_y(new)
        self.refresh()
        self._announce()

    def _announce(self) -> None:
        # Posted from this widget's own loop: a message made while the parent (Picker) runs would have the
        # parent as sender, and Textual stops bubbling at the sender, so the screen would never hear it.
        self.call_later(lambda: self.post_message(self.Highlighted(self, self.highlighted)))

    def scroll_to_region_y(self, line: int) -> None:
        top, height = self.scroll_offset.y, self.scrollable_content_region.height
        if line < top:
            self.scroll_to(y=line, animate=False)
        elif height and line >= top + height:
            self.scroll_to(y=line - height + 1, animate=False)

    def action_cursor(self, delta: int) -> None:
        self.cursor += delta

    def action_page(self, direction: int) -> None:
        self.cursor += direction * max(1, self.scrollable_content_region.height - 1)

    def action_jump(self, where: int) -> None:
        self.cursor = 0 if where == 0 else len(self.matches) - 1

    def action_select(self) -> None:
        row = self.highlighted
        if row is not None:
            self.call_later(lambda: self.post_message(self.Selected(self, row)))

    def on_click(self, event: events.Click) -> None:
        position = event.y + self.scroll_offset.y
        if 0 <= position < len(self.matches):
            self.cursor = position
            if event.chain >= 2:
                self.action_select()

    def on_resize(self) -> None:
        self._resize()

    # -- drawing ------------------------------------------------------------------------------------------
    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        position = y + self.scroll_offset.y
        if not self.matches:
            if y != 0:
                return Strip.blank(width)
            note = "Loading…" if self.loading else (f"No match for “{self.filter_text}”." if self.filter_text
                                                    else self.empty)
            style = self.get_component_rich_style("filter-list--note")
            return Strip([Segment(set_cell_size(f" {note}", width), style)], width)
        if position >= len(self.matches):
            return Strip.blank(width)
        row = self.rows[self.matches[position]]
        detail = row.detail[: max(0, width // 2)]
        label_width = max(1, width - len(detail) - 2)
        base = self.rich_style
        if position == self.cursor:
            base = base + self.get_component_rich_style("filter-list--cursor")
        detail_style = base + self.get_component_rich_style("filter-list--detail", partial=True)
        segments = [Segment(set_cell_size(f" {row.label}", label_width), base),
                    Segment(set_cell_size(f"{detail} ", width - label_width), detail_style)]
        return Strip(segments, width)
