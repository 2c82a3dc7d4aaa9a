"""The filter list stays correct (and cheap) with ten thousand rows arriving in pages."""

from __future__ import annotations

import pytest
from textual.app import App

from screens.filter_list import FilterList, Row

pytestmark = pytest.mark.timeout(30)


class Lists(App):
    def __init__(self):
        super().__init__()
        self.highlights: list[Row | None] = []

    def compose(self):
        yield FilterList()

    def on_filter_list_highlighted(self, message: FilterList.Highlighted) -> None:
        self.highlights.append(message.row)


async def test_ten_thousand_rows_in_pages_filter_and_keep_the_cursor_in_range():
    app = Lists()
    async with app.run_test(size=(80, 24)) as pilot:
        widget = app.query_one(FilterList)
        rows = [Row(f"rg-{i:05d}", f"rg-team{i:05d}", "eastus" if i % 2 else "westeurope") for i in range(10_000)]
        for start in range(0, len(rows), 1000):
            widget.add_rows(rows[start:start + 1000], done=start == 9000)
        await pilot.pause()
        assert len(widget.matches) == 10_000 and app.highlights[-1].key == "rg-00000"
        widget.set_filter("team04")
        assert len(widget.matches) == 1000
        widget.set_filter("team0421 west")  # every word must match: label or detail
        assert [widget.rows[i].label for i in widget.matches] == [f"rg-team0421{d}" for d in range(0, 10, 2)]
        widget.set_filter("team01")  # not a narrowing of the last filter: starts from all rows again
        assert len(widget.matches) == 1000
        widget.action_jump(-1)
        widget.action_cursor(5)
        assert widget.highlighted.label == "rg-team01999"
        assert widget.select_key("rg-01500") and widget.highlighted.label == "rg-team01500"
        widget.set_filter("nothing-like-this")
        assert widget.highlighted is None
        await pilot.pause()
        assert app.highlights[-1] is None
