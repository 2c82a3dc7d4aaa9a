"""The key bar at the bottom of every screen: the screen's keys, as Textual's Footer shows them, drawn by one widget.

Textual's Footer is a scrolling container that composes a widget per key, and composes them again whenever the
bindings change: about a third of the first screen's time from compose to paint (benchmarks/ui_first_screen.py).
This bar renders the same line from `screen.active_bindings` in one `render`: the keys in the footer's colours,
unavailable ones dimmed, the command palette's key on the right. A click on a key presses it (a dimmed one also
rings the bell, and the screen says why it is not available), and hovering one shows its tooltip, as with the
Footer. When not every key fits, the palette's goes first, then the screen's last ones, whole; F1 stays
(its help lists them all).
"""

from __future__ import annotations

from typing import Any, NamedTuple

from rich.cells import cell_len
from rich.text import Text
from textual import events
from textual.widget import Widget

HELP_ACTION = "help"
"""The app's F1 (screens.app): kept on the bar when not every key fits."""


class Shown(NamedTuple):
    """A key the screen offers, as the bar shows it."""

    key: str
    display: str
    description: str
    enabled: bool
    tooltip: str
    action: str


class KeySpan(NamedTuple):
    """One key as drawn: where it is on the line, what pressing it does, and its tooltip."""

    start: int
    end: int
    key: str
    enabled: bool
    tooltip: str


def offered_keys(screen: Any) -> tuple[list[Shown], Shown | None]:
    """The keys a screen offers, one per action (the first key bound to it), and the command palette's apart: what
    the bar draws, and what help (F1) lists."""
    app = screen.app
    palette_key = app.COMMAND_PALETTE_BINDING if app.ENABLE_COMMAND_PALETTE else None
    entries: list[Shown] = []
    palette = None
    actions: set[str] = set()
    for key, (_, binding, enabled, tooltip) in screen.active_bindings.items():
        entry = Shown(key, app.get_key_display(binding), binding.description, enabled, tooltip or "", binding.action)
        if key == palette_key:
            palette = entry
        elif binding.show and binding.action not in actions:
            actions.add(binding.action)
            entries.append(entry)
    return entries, palette


def _width(entry: Shown) -> int:
    """Its cells on the bar: " key description "."""
    return cell_len(f" {entry.display} {entry.description} " if entry.description else f" {entry.display} ")


class KeyBar(Widget, can_focus=False):
    ALLOW_SELECT = False
    COMPONENT_CLASSES = {"key-bar--key", "key-bar--description", "key-bar--hover", "key-bar--separator"}
    DEFAULT_CSS = """
    KeyBar {
        dock: bottom;
        width: 100%;
        height: 1;
        color: $footer-foreground;
        background: $footer-background;
    }
    KeyBar > .key-bar--key {
        color: $footer-key-foreground;
        background: $footer-key-background;
        text-style: bold;
    }
    KeyBar > .key-bar--description {
        color: $footer-description-foreground;
        background: $footer-description-background;
    }
    KeyBar > .key-bar--hover {
        background: $block-hover-background;
    }
    KeyBar > .key-bar--separator {
        color: $foreground 20%;
    }
    """

    def __init__(self) -> None:
        super().__init__()
        self.spans: list[KeySpan] = []
        """The keys as last drawn (for clicks and tooltips)."""
        self._hover: int | None = None

    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, self._bindings_changed)

    def on_unmount(self) -> None:
        self.screen.bindings_updated_signal.unsubscribe(self)

    def _bindings_changed(self, _: Any) -> None:
        self.refresh()

    @staticmethod
    def _fitting(entries: list[Shown], room: int) -> list[Shown]:
        """The keys that fit, in order; when some do not, F1 (help) stays and keys before it go instead, since help
        lists every key, those left out included. What does not fit is left out whole (the Footer cut it mid-word)."""
        if sum(map(_width, entries)) <= room:
            return entries
        help_keys = [e for e in entries if e.action == HELP_ACTION][:1]
        room -= sum(map(_width, help_keys))
        shown: list[Shown] = []
        for entry in entries:
            if entry in help_keys:
                continue
            if _width(entry) > room:
                break
            room -= _width(entry)
            shown.append(entry)
        return shown + help_keys

    def render(self) -> Text:
        key_style = self.get_component_rich_style("key-bar--key")
        description_style = self.get_component_rich_style("key-bar--description")
        hover_style = self.get_component_rich_style("key-bar--hover", partial=True)
        entries, palette = offered_keys(self.screen)
        width = self.size.width
        right = Text()
        if palette is not None:
            display, description = palette.display, palette.description
            separator_style = self.get_component_rich_style("key-bar--separator")
            right = Text.assemble(("▏", separator_style), (display, key_style), (f" {description} ", description_style))
        line = Text(no_wrap=True, overflow="crop")
        spans: list[KeySpan] = []
        if sum(map(_width, entries)) + right.cell_len > width:
            right = Text()  # not every key fits: the palette's gives way first (Ctrl+P works anyway; F1 lists it)
        room = width - right.cell_len
        for key, display, description, enabled, tooltip, _ in self._fitting(entries, room):
            cell = Text.assemble((f" {display} ", key_style), (f"{description} " if description else "",
                                                                 description_style))
            if not enabled:
                cell.stylize("dim")
            if len(spans) == self._hover:
                cell.stylize(hover_style)
            spans.append(KeySpan(line.cell_len, line.cell_len + cell.cell_len, key, enabled,
                                 tooltip or description))
            line.append_text(cell)
        if palette is not None and right:
            line.append(" " * (width - line.cell_len - right.cell_len))
            if len(spans) == self._hover:
                right.stylize(hover_style, 1)
            spans.append(KeySpan(line.cell_len + 1, width, palette.key, palette.enabled,
                                 palette.tooltip or palette.description))
            line.append_text(right)
        self.spans = spans
        return line

    def _span_at(self, x: int) -> int | None:
        return next((index for index, span in enumerate(self.spans) if span.start <= x < span.end), None)

    def on_mouse_down(self, event: events.MouseDown) -> None:
        index = self._span_at(event.x)
        if index is None:
            return
        span = self.spans[index]
        if not span.enabled:
            self.app.bell()  # as the Footer does; the key still goes to the screen, which may say why it is not
            # available (a wizard screen's Next says what is missing)
        self.app.simulate_key(span.key)

    def on_mouse_move(self, event: events.MouseMove) -> None:
        index = self._span_at(event.x)
        if index != self._hover:
            self._hover = index
            self.tooltip = self.spans[index].tooltip if index is not None else None
            self.refresh()

    def on_leave(self, event: events.Leave) -> None:
        if self._hover is not None:
            self._hover = None
            self.tooltip = None
            self.refresh()
