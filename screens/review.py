"""Review: the plan (create / update / adopt / nothing, each with its reason), read from Azure before anything
changes; Apply confirms it."""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import Any

from rich.text import Text
from textual import on, work
from textual.binding import Binding
from textual.containers import Vertical
from textual.widget import Widget
from textual.widgets import Static

from .base import Collected, Note, WizardScreen
from .button import Button
from .dialogs import secret_prompt
from .errors import WorkFailed, run_action
from .flow import ReviewConfirmed
from .messages import PlanMade
from .snippets import resolve, save_dialog

ACTION_STYLES = {"create": "bold green", "update": "bold yellow", "adopt": "bold cyan", "recover": "bold magenta",
                 "nothing": "dim"}

HELP = """
mi-wizard has read Azure for every step and decided what to do:

- **create**: it does not exist; it will be created.
- **update**: it exists but lacks something (e.g. the container group lacks the identity).
- **adopt**: it exists and fits; it is used as it is and recorded.
- **recover**: a soft-deleted vault is brought back with its secrets.
- **nothing**: already done (by an earlier run of this setup).

Nothing has changed yet. Problems are checked before the first change: fix them (Esc goes back) and the plan is
read again. Ctrl+S saves the choices as a spec file to share or replay: the notice gives the exact command
(`mi-wizard apply spec.toml`, with `--sandbox` for a setup made on the sandbox).
"""


def plan_text(items: list[dict[str, Any]]) -> Text:
    text = Text()
    for item in items:
        text.append(f"{item['action'].upper():8}", ACTION_STYLES.get(item["action"], "bold"))
        text.append(f"{item['title']}\n", "bold")
        if item.get("reason"):
            text.append(f"  {item['reason']}\n")
        for detail in item.get("details", []):
            text.append(f"  - {detail}\n", "dim")
    return text


CLOUD_OPTIONS = {"": "", "public": "", "sandbox": " --sandbox"}
"""The CLI's option for where a setup was made; any other cloud is `--cloud NAME`."""


def replay_command(path: str, cloud: str) -> str:
    """The exact command that applies a saved spec where this setup was made (the sandbox, or which cloud)."""
    import shlex
    return f"mi-wizard apply {shlex.quote(path)}{CLOUD_OPTIONS.get(cloud, f' --cloud {cloud}')}"


class ReviewScreen(WizardScreen):
    SCREEN_ID = "review"
    RETRIES = frozenset({"plan"})
    LEAD = "Read from Azure just now. Nothing has changed yet: Apply (Ctrl+N) makes these changes."
    HELP = HELP
    NEXT = "Apply"
    BINDINGS = [Binding("ctrl+n", "next", "Apply"), Binding("ctrl+s", "save_spec", "Save spec"),
                Binding("ctrl+v", "enter_secret", "Secret value", show=False)]

    def __init__(self, services: Any, plan: PlanMade | None = None):
        super().__init__(services)
        self.plan = plan
        """Given (snapshots) or read in a worker on mount."""

    def compose_body(self) -> Iterable[Widget]:
        # What needs the person's attention comes first: the plan below may be longer than the screen.
        yield Note("Reading Azure to make the plan…", id="status")
        with Vertical(id="needs-secret"):
            yield Note("", id="secret-note")
            yield Button("Enter the secret value", id="enter-secret", compact=True)
        yield Static("", id="problems")
        yield Static("", id="plan")

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#needs-secret").display = False
        if self.plan is not None:
            self.on_plan_made(self.plan)
        else:
            self.make_plan()

    def load_data(self) -> None:
        self.query_one("#status", Note).say("Reading Azure to make the plan…")
        self.make_plan()

    def on_work_failed(self, message: WorkFailed) -> None:
        if message.work == "plan":  # the plan could not be read: nothing changes (the base shows why, above)
            self.plan = None
            self.can_advance = False
            self.query_one("#status", Note).say("No plan: nothing will change. Ctrl+R reads Azure again; Esc goes "
                                                "back.", "error")

    @work(thread=True, group="plan", exclusive=True, exit_on_error=False,
          description="read Azure to make the plan")
    def make_plan(self) -> None:
        draft, secret = self.draft, self.services.secret
        source = draft.secret_source(secret.get if secret else None)
        workspace = draft.workspace(self.services.session, sink=lambda _e: None, cancel=threading.Event(),
                                    secret_source=source)
        plan = workspace.plan()
        secret_item = plan.item("secret")
        needs_secret = source is None and secret_item is not None and bool(secret_item.problems)
        problems = [p for p in plan.problems if not (needs_secret and p.startswith("secret:"))]
        self.post_message(PlanMade([i.to_dict() for i in plan.items], problems, needs_secret))

    def on_plan_made(self, message: PlanMade) -> None:
        self.plan = message
        changes = sum(1 for i in message.items if i["action"] in ("create", "update", "recover"))
        status = self.query_one("#status", Note)
        if message.problems:  # fixed by going back, or in Azure (a missing role...): Ctrl+R reads Azure again
            self.failed_loads.add("plan")
            self.refresh_bindings()
            status.say("The plan found problems; nothing will change until they are fixed (Esc goes back; Ctrl+R "
                       "reads Azure again).", "error")
        elif message.needs_secret:
            status.say("One thing is missing: the secret's value.", "warn")
        else:
            status.say(f"{changes} change{'s' if changes != 1 else ''} to make" if changes else
                       "Everything is in place: Apply records it and verifies.", "ok")
        self.query_one("#plan", Static).update(plan_text(message.items))
        self.query_one("#problems", Static).update(Text("\n".join(f"! {p}" for p in message.problems), "red"))
        box = self.query_one("#needs-secret")
        box.display = message.needs_secret
        if message.needs_secret:
            name = self.draft.spec.secret.name
            self.query_one("#secret-note", Note).say(f"{name} must be stored, and its value is never saved: enter it "
                                                     "again (Ctrl+V).", "warn")
            self.query_one("#enter-secret", Button).focus()
        elif self.focused is None or self.focused.id == "enter-secret":  # its button is hidden now: keys scroll
            self.query_one("#body").focus()
        self.can_advance = bool(message.items) and not message.problems and not message.needs_secret

    @on(Button.Pressed, "#enter-secret")
    def action_enter_secret(self) -> None:
        self.app.push_screen(secret_prompt(self.draft.spec.secret.name), self._got_secret)

    def _got_secret(self, value: str | None) -> None:
        if value:
            self.services.secret.set(value)
            self.query_one("#status", Note).say("Reading Azure to make the plan…")
            self.can_advance = False
            self.make_plan()

    def action_save_spec(self) -> None:
        # As every file the wizard writes on request (screens.snippets): a free name is proposed, and an existing
        # file (the spec this setup was opened from, say) is refused rather than replaced.
        self.app.push_screen(save_dialog("the spec file", f"{self.draft.name}.toml"), self._save_spec)

    def _save_spec(self, path: str | None) -> None:
        if not path:
            return
        def write() -> None:
            written = self.draft.export_spec(str(resolve(path)))
            saved = f"Saved {written}. Replay it with: {replay_command(str(written), self.draft.cloud)}"
            self.query_one("#status", Note).say(saved, "ok")  # in place, to read and copy at leisure
            self.notify(saved, markup=False, timeout=15)
        run_action(self, f"write {path}", write)

    def action_next(self) -> None:
        if not self.can_advance or self.plan is None:
            return
        plan = self.plan

        def confirm() -> None:
            self.draft.record_plan(plan.items)  # e.g. another wizard holds the setup: said, and nothing starts
            self.app.navigate(self, "next", answers={}, spec={}, result=ReviewConfirmed())  # the apply starts
        run_action(self, "save the reviewed plan", confirm)

    def collect(self) -> Collected | None:
        return {}, {}
