"""Keystroke-to-repaint while filtering 10,000 resource groups, as a ratio to a bare input that echoes.

Each keystroke goes to the filter box as a terminal key event; the clock stops at the next frame Textual
composes for the screen (headless: the frame is built, not written). Textual paints at most 60 times a
second, so even the bare app waits for its next frame tick: the ratio says what filtering adds on top.

  bare          an Input whose text a Static echoes (no list)
  wizard        the resource-group picker (screens/picker.py: filter box over a line-API FilterList)
  OptionList    Textual's OptionList refilled on every keystroke (what a naive picker does), for reference

Usage: python benchmarks/ui_filter.py [--rows 10000]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from textual import events  # noqa: E402
from textual.app import App  # noqa: E402
from textual.widgets import Input, OptionList, Static  # noqa: E402
from textual.widgets.option_list import Option  # noqa: E402

from screens.filter_list import Row  # noqa: E402
from screens.picker import Picker  # noqa: E402

KEYS = list("team042") + ["backspace"] * 7 + list("eastus2")
REGIONS = ("eastus", "eastus2", "westeurope", "northeurope", "westus2", "uksouth", "japaneast", "brazilsouth")


def groups(n: int) -> list[Row]:
    return [Row(f"rg-team{i:05d}-{'abcdefgh'[i % 8]}", f"rg-team{i:05d}-{'abcdefgh'[i % 8]}", REGIONS[i % 8])
            for i in range(n)]


class Bench(App):
    """Times from a key event to the next composed frame of the screen."""

    def __init__(self, kind: str, rows: list[Row]):
        super().__init__()
        self.kind, self.rows = kind, rows
        self.frame: asyncio.Event | None = None

    def compose(self):
        if self.kind == "wizard":
            yield Picker(id="picker")
        elif self.kind == "OptionList":
            yield Input(id="filter")
            yield OptionList(*[Option(r.label) for r in self.rows])
        else:
            yield Input(id="filter")
            yield Static(id="echo")

    def on_mount(self) -> None:
        if self.kind == "wizard":
            self.query_one(Picker).list.add_rows(self.rows, done=True)
            self.query_one(Picker).filter_input.focus()
        else:
            self.query_one(Input).focus()

    def on_input_changed(self, event: Input.Changed) -> None:
        if self.kind == "OptionList":
            terms = event.value.lower()
            self.query_one(OptionList).set_options([Option(r.label) for r in self.rows if terms in r.label])
        elif self.kind == "bare":
            self.query_one(Static).update(event.value)

    def _display(self, screen, renderable) -> None:
        if renderable is not None and self.frame is not None:
            self.frame.set()
        super()._display(screen, renderable)


async def measure(kind: str, rows: list[Row]) -> list[float]:
    Input._toggle_cursor = lambda self: None  # a blinking cursor would paint frames of its own
    app = Bench(kind, rows)
    times = []
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause(0.2)
        for key in KEYS:
            await pilot.pause(0.05)  # nothing pending: the next frame is this key's
            app.frame = asyncio.Event()
            start = time.perf_counter()
            app._driver.send_message(events.Key(key, key if len(key) == 1 else None))
            await asyncio.wait_for(app.frame.wait(), 10)
            times.append(time.perf_counter() - start)
            app.frame = None
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=10_000)
    args = parser.parse_args()
    rows = groups(args.rows)
    results = {kind: asyncio.run(measure(kind, rows)) for kind in ("bare", "wizard", "OptionList")}
    bare = statistics.median(results["bare"])
    print(f"keystroke to repaint, {len(KEYS)} keystrokes, {args.rows:,} resource groups (median / worst):")
    for kind, times in results.items():
        median = statistics.median(times)
        print(f"  {kind:11} {median * 1000:6.1f} ms / {max(times) * 1000:6.1f} ms   ratio {median / bare:5.2f}")
    print(f"ratio (wizard / bare): {statistics.median(results['wizard']) / bare:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
