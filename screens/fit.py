"""Text that fits its width without breaking a resource id mid-word.

An Azure resource id is longer than most terminals are wide. Wrapped, it breaks in the middle of a word
("…/reso" / "urceGroups/…") and reads as two things. Here an id that does not fit on a line of its own is
shortened in the middle ("/subscriptions/c502…/secrets/app-secret"): its start (the subscription) and its
end (the resource's name) are what a reader recognises. The full id stays copyable where it is offered (the
result screen's copy buttons, Save to file). The width is known only when Rich renders, so these are Rich
renderables, used as a widget's content.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, RenderableType
from rich.table import Table
from rich.text import Text

RESOURCE_ID = re.compile(r"/subscriptions/[^\s,;]+?(?=[.,;:)]?(?:\s|$))", re.IGNORECASE)


def middle(text: str, width: int) -> str:
    """`text` shortened in the middle to `width` cells (unchanged when it fits)."""
    if cell_len(text) <= width or width < 5:
        return text
    tail = (width - 1) // 2
    head = width - 1 - tail
    return f"{text[:head]}…{text[-tail:]}"


class Fitted:
    """Plain text that wraps at spaces, with every resource id too long for a line shortened in the middle."""

    def __init__(self, text: str, style: str = "", lead: Text | None = None):
        self.text, self.style, self.lead = text, style, lead
        """`lead`: styled words before the text (a link's name), wrapped with it."""

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> Iterator[Text]:
        width = options.max_width
        # One cell spare: the punctuation after an id ("…/app-secret.") stays on its line.
        fitted = RESOURCE_ID.sub(lambda m: middle(m.group(0), width - 1), self.text)
        text = self.lead.copy() if self.lead is not None else Text()
        text.append(fitted, self.style)
        text.overflow = "fold"
        yield text


def hanging(prefix: str | Text, body: RenderableType) -> Table:
    """`prefix`, then `body` with its wrapped lines indented under the body's start, not under the prefix."""
    grid = Table.grid()
    grid.add_column(no_wrap=True)
    grid.add_column()
    grid.add_row(prefix, body)
    return grid


def indented(prefix: str, text: str, style: str = "") -> Table:
    """One list item or log line: `prefix`, then `text` wrapped under itself with its ids fitted."""
    return hanging(Text(prefix, style), Fitted(text, style))
