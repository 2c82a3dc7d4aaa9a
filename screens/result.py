"""Result: each link of the verification, green or red with its fix; the ids to copy; what to do next."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from textual import on, work
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widget import Widget
from textual.widgets import Static

from .base import Collected, Note, WizardScreen
from .button import Button
from .errors import WorkFailed, run_action
from .fit import Fitted, hanging, indented
from .flow import Applied
from .messages import Verified
from .snippets import resolve, save_dialog, sent_text, write_new

# What each link is (a noun): its detail says how it stands, so the line never repeats itself
# ("Secret: app-secret exists and is enabled.").
LINK_TITLES = {"identity": "Identity", "attached": "Attached to the target", "grant": "Read access",
               "secret": "Secret", "probe": "Live probe (the target reads the secret)",
               "nodes": "The pool's nodes"}
LINK_PREFIXES = {"federation": "Federated credential", "cluster": "AKS cluster", "grant_extra": "Grant"}


def link_title(name: str) -> str:
    """"grant_extra:AcrPull@acrcontoso" -> "Grant AcrPull on acrcontoso"; plain names from LINK_TITLES."""
    prefix, _, rest = name.partition(":")
    if rest and prefix in LINK_PREFIXES:
        return f"{LINK_PREFIXES[prefix]} {rest.replace('@', ' on ')}"
    return LINK_TITLES.get(name, name)

HELP = """
The verification follows the chain a token takes: the identity exists, it is attached to {target},
a grant lets it read the secret, the secret exists and is enabled, and finally a short-lived **probe**
container with the identity asks Key Vault for the secret (its value is never printed).

A red link says what is broken and how to fix it; fix it and press **V** to verify again (or run
`mi-wizard verify SETUP` later). The copy buttons send the identity's ids and the next steps to the terminal's
clipboard (OSC 52: tmux and some terminals do not pass it on); **F** saves the next steps to a file instead.
"""


def links_text(report: dict[str, Any]) -> Group:
    """One item per link; wrapped lines indented under the item's text, resource ids never broken mid-word."""
    items: list[RenderableType] = []
    for link in report.get("links", []):
        mark, style = ("✓", "green") if link["ok"] else (("…", "yellow") if link.get("pending") else ("✗", "red"))
        title = Text(f"{link_title(link['link'])}: ", f"bold {style}")
        items.append(hanging(Text(f"{mark} ", f"bold {style}"), Fitted(link["detail"], lead=title)))
        if not link["ok"] and link.get("fix"):
            items.append(indented("    Fix: ", link["fix"], style))
    return Group(*items)


def ids_table(identity: dict[str, Any]) -> Table:
    """The identity's ids, each on one line (a long resource id shortened in the middle: the buttons copy it)."""
    grid = Table.grid()
    grid.add_column(no_wrap=True, width=14)
    grid.add_column()
    for label, key in (("Resource id", "id"), ("Client id", "client_id"), ("Principal id", "principal_id")):
        grid.add_row(label, Fitted(str(identity.get(key, "-")), ""))
    return grid


class ResultScreen(WizardScreen):
    SCREEN_ID = "result"
    RETRIES = frozenset({"verify"})
    LEAD = "Each link from the identity to the secret, checked in Azure."
    HELP = HELP
    NEXT = "Finish"
    BINDINGS = [Binding("ctrl+n", "next", "Finish"), Binding("v", "verify", "Verify"),
                Binding("s", "copy_steps", "Copy steps"), Binding("f", "save_steps", "Save to file"),
                Binding("c", "copy('id')", "Copy id", show=False),
                Binding("t", "teardown", "Tear down")]

    def __init__(self, services: Any, applied: Applied | None = None, *, report: dict[str, Any] | None = None,
                 identity: dict[str, Any] | None = None):
        super().__init__(services)
        self.report = applied.report if applied is not None else report
        """Handed on by the apply screen (or given: snapshots); None: the saved verification (a resumed setup)."""
        self.identity = identity

    def compose_body(self) -> Iterable[Widget]:
        yield Note("", id="verdict")
        yield Static("", id="links")
        yield Static("", id="ids")
        with Horizontal(classes="buttons"):
            yield Button("Copy resource id", id="copy-id", compact=True)
            yield Button("Copy client id", id="copy-client", compact=True)
            yield Button("Copy principal id", id="copy-principal", compact=True)
        yield Static("", id="next-steps", classes="muted")
        with Horizontal(classes="buttons", id="steps-buttons"):
            yield Button("Copy the next steps", id="copy-steps", compact=True)
            yield Button("Save to file", id="save-steps", compact=True)
        yield Button("Tear down this setup", id="teardown", compact=True)

    def on_mount(self) -> None:
        super().on_mount()
        if self.identity is None:
            self.identity = self.draft.outputs("identity")
        if self.report is None:
            self.report = self.draft.outputs("verify") or {"passed": False, "links": []}
        self.show(self.report)
        self.query_one("#ids", Static).update(ids_table(self.identity))
        self.steps_text = self._next_steps()
        self.query_one("#next-steps", Static).update(Text(self.steps_text))
        self.query_one("#steps-buttons").display = bool(self.steps_text)
        self.can_advance = True

    def _next_steps(self) -> str:
        from wizard.outputs import next_steps
        state = self.draft.state
        outputs = {step_id: record.outputs for step_id, record in state.steps.items()}
        outputs["identity"] = self.identity or {}
        target = self.draft.spec.target
        outputs.setdefault(target.kind, {"name": getattr(target, "container_group", "") or getattr(target, "pool", "")})
        steps = next_steps(state.spec, outputs)
        return "Next steps\n\n" + steps if steps else ""

    @on(Button.Pressed, "#copy-steps")
    def action_copy_steps(self) -> None:
        """The next steps (manifest, workflow or job snippet) to the clipboard: ids and names only, no secret."""
        if self.steps_text:
            self.app.copy_to_clipboard(self.steps_text.removeprefix("Next steps\n\n"))
            self.notify(sent_text("the next steps"), markup=False)

    @on(Button.Pressed, "#save-steps")
    def action_save_steps(self) -> None:
        """The next steps to a new file (a path asked for; an existing file is never replaced)."""
        if self.steps_text:
            self.app.push_screen(save_dialog("the next steps", f"{self.draft.name}-next-steps.txt"), self._save_steps)

    def _save_steps(self, typed: str | None) -> None:
        if not typed:
            return
        path = resolve(typed)
        def save() -> None:
            write_new(path, self.steps_text.removeprefix("Next steps\n\n"))
            self.notify(f"Saved the next steps to {path}.", markup=False)
        run_action(self, f"save the next steps to {path}", save)

    def show(self, report: dict[str, Any]) -> None:
        self.report = report
        verdict = self.query_one("#verdict", Note)
        if report.get("passed"):
            from wizard.verify_summary import passed_summary  # what was proven, and what was not (no probe)
            verdict.say(passed_summary(report, uses_vault=self.draft.spec.uses_vault), "ok")
        elif not report.get("links"):
            verdict.say("Not verified yet: press V to verify.", "warn")
        else:
            verdict.say("Verification failed: a link is broken (see its fix below), then press V.", "error")
        self.query_one("#links", Static).update(links_text(report))

    @on(Button.Pressed, "#copy-id")
    @on(Button.Pressed, "#copy-client")
    @on(Button.Pressed, "#copy-principal")
    def copy_pressed(self, event: Button.Pressed) -> None:
        self.action_copy({"copy-id": "id", "copy-client": "client_id", "copy-principal": "principal_id"}
                         [event.button.id or ""])

    def action_copy(self, key: str) -> None:
        value = (self.identity or {}).get(key, "")
        if value:
            self.app.copy_to_clipboard(value)
            self.notify(sent_text({"id": "the resource id"}.get(key, f"the {key.replace('_', ' ')}")), markup=False)

    @on(Button.Pressed, "#teardown")
    def action_teardown(self) -> None:
        """Remove what this setup made (the same plan as `mi-wizard destroy --plan`, then a typed confirmation)."""
        from .teardown import TeardownScreen
        self.app.push_screen(TeardownScreen(self.services, self.draft.store.path, self.draft.state.name),
                             self._torn_down)

    def _torn_down(self, done: bool | None) -> None:
        if done:
            self.draft.reload()
            self.query_one("#verdict", Note).say("Torn down: what this setup made is gone.", "ok")

    def action_verify(self) -> None:
        self.query_one("#verdict", Note).say("Verifying…")
        self.verify()

    def load_data(self) -> None:
        self.action_verify()

    def on_work_failed(self, message: WorkFailed) -> None:
        if message.work == "verify":  # not a verdict on the setup: the check itself could not run (shown above)
            self.query_one("#verdict", Note).say("Not verified: the check could not run. Ctrl+R tries again.",
                                                 "error")

    @work(thread=True, group="verify", exclusive=True, exit_on_error=False, description="verify the setup")
    def verify(self) -> None:
        import threading

        cancel = threading.Event()
        self.services.cancels.add(cancel)
        try:
            workspace = self.draft.workspace(self.services.session, sink=lambda _e: None, cancel=cancel,
                                             secret_source=None)
            self.post_message(Verified(workspace.verify(probe=True).to_dict()))
        finally:
            self.services.cancels.discard(cancel)

    def on_verified(self, message: Verified) -> None:
        self.draft.reload()
        self.show(message.report)

    def collect(self) -> Collected | None:
        return {}, {}
