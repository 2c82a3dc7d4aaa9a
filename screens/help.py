"""The help screen (F1): what the current step is for, and the keys that work everywhere.

The text fits the screen it is opened on: its title is the step's title, a screen may write its own text from
what it offers (`help_text()`), and `{target}` names what runs the workload, once the target is chosen.
"""

from __future__ import annotations

from collections.abc import Iterable
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

EVERYWHERE = frozenset({"enter", "tab", "shift+tab", "ctrl+n", "escape", "ctrl+p", "f1", "ctrl+q"})
"""The keys KEYS describes: the screen's own table leaves them out."""

WHAT_RUNS = {"aci": "the container group", "batch": "the Batch pool", "aks": "the cluster's pods",
             "github": "the GitHub Actions workflow", "platform": "the platform's tasks",
             "none": "whatever you attach it to later"}
"""`{target}` in a help text, by target kind."""
NOT_CHOSEN = "what runs the workload"
"""Before the target is chosen (a new setup's default target is not a choice yet)."""

SIGN_IN_WAYS = {
    "cli": "**Azure CLI login**: if `az login` was run on this machine, nothing else is needed.",
    "env": "**Environment service principal**: `AZURE_TENANT_ID`, `AZURE_CLIENT_ID` and `AZURE_CLIENT_SECRET` "
           "(or a certificate) in the environment, as for automation.",
    "device_code": "**Device code**: a code is shown here; open the link on any device with a browser and enter it.",
}


def what_runs(draft: Any) -> str:
    """What runs the workload, in words, for the setup being chosen (never a default the person did not pick)."""
    if draft is None:
        return NOT_CHOSEN
    from wizard.setup_progress import target_chosen
    if not target_chosen(draft.state):
        return NOT_CHOSEN
    return WHAT_RUNS.get(draft.spec.target.kind, NOT_CHOSEN)


def sign_in_help(options: Iterable[Any], where: str) -> str:
    """The sign-in help from the ways this screen offers (a cloud that signs you in by itself offers none)."""
    ways = [f"- {SIGN_IN_WAYS[o.kind]}" for o in options if o.kind in SIGN_IN_WAYS]
    lead = ("mi-wizard acts as **you**: it creates the identity, the vault and the grant with your rights, and reads "
            "who you are from your sign-in token (you get write access to the new secret, nothing more).\n\n")
    if not ways:
        return lead + f"There is nothing to choose here: {where}"
    return lead + "\n".join(ways) + ("\n\nPick the cloud your account lives in: tokens of one cloud do not work in "
                                     "another.")


def screen_keys(under: Any) -> str:
    """The keys this screen offers beyond those that work everywhere, as its key bar has them: the bar may not have
    room for all of them (screens.key_bar)."""
    from .key_bar import offered_keys
    rows = [f"| {k.display} | {(k.tooltip or k.description).replace('|', '/')}"
            f"{'' if k.enabled else ' (not available now)'} |" for k in offered_keys(under)[0] if k.key not in EVERYWHERE]
    return "\n### This screen's keys\n| key | does |\n|---|---|\n" + "\n".join(rows) + "\n" if rows else ""


def help_title(under: Any) -> str:
    from .order import SCREEN_TITLES
    screen_id = getattr(under, "SCREEN_ID", "")
    return getattr(under, "HEADING", "") or SCREEN_TITLES.get(screen_id, "") or screen_id.replace("_", " ").title() \
        or "mi-wizard"


class HelpScreen(ModalScreen[None]):
    CSS_PATH = "screens.tcss"  # the styles past the first screen: loaded with the first screen that uses them
    BINDINGS = [Binding("escape,f1,q", "close", "Close")]

    def __init__(self, under: Any):
        super().__init__()
        own = getattr(under, "help_text", None)
        body = own() if callable(own) else getattr(under, "HELP", "") or ""
        body = body.replace("{target}", what_runs(getattr(under, "draft", None)))
        self.text = f"## {help_title(under)}\n\n{body}\n{screen_keys(under)}{KEYS}"

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help"):
            yield Markdown(self.text)

    def action_close(self) -> None:
        self.dismiss(None)
