"""Target: where the workload runs with the identity. ACI today: a new container group or an existing one.

Batch pools, AKS workload identity and GitHub Actions arrive with their own issue; they are listed, disabled,
so the place is visible (TARGETS below is where they plug in).
"""

from __future__ import annotations

import shlex
from typing import Any, Iterable

from textual import on, work
from textual.widget import Widget
from textual.widgets import Input, RadioButton, RadioSet, Select

from wizard.azure.names import validate_container_group_name

from .base import Collected, Note, WizardScreen, chosen, field
from .messages import PageLoaded

TARGETS = (("aci_new", "A new ACI container group", True), ("aci_existing", "An existing ACI container group", True),
           ("none", "No target for now (identity, vault and grant only)", True),
           ("batch", "Azure Batch pool (coming soon)", False), ("aks", "AKS workload identity (coming soon)", False))

HELP = """
The **target** is what runs your workload with the identity.

- **A new container group** (Azure Container Instances) is created with the identity attached and
  `AZURE_CLIENT_ID` set, so `DefaultAzureCredential` / `ManagedIdentityCredential` pick this identity.
- **An existing container group** gets the identity added. Azure re-deploys it: **every container
  restarts**. Groups with secure environment variables cannot be updated this way (their values are never
  returned); mi-wizard refuses and says why.
- **No target**: the identity, vault, secret and grant only; attach the identity yourself later (for a Prefect
  ACI work pool, its `identities` field takes the identity's resource id).

Verification then runs a short-lived probe container with the identity that reads the secret.
"""


class TargetScreen(WizardScreen):
    SCREEN_ID = "target"
    LEAD = "Where your workload runs with the identity."
    HELP = HELP

    def compose_body(self) -> Iterable[Widget]:
        with RadioSet(id="kind"):
            for key, label, enabled in TARGETS:
                yield RadioButton(label, name=key, disabled=not enabled)
        yield field("Group name", Input(id="name", placeholder="cg-my-workload", compact=True)).add_class("new")
        yield field("Image", Input(id="image", placeholder="mcr.microsoft.com/azure-cli", compact=True)).add_class("new")
        yield field("Command", Input(id="command", placeholder="optional, e.g. prefect worker start --pool aci",
                                     compact=True)).add_class("new")
        yield field("Container group", Select([], prompt="Loading container groups…", id="existing",
                                              allow_blank=True, compact=True)).add_class("existing")
        yield Note("", id="status")

    def on_mount(self) -> None:
        super().on_mount()
        answers, target = self.answers(), self.draft.spec.target
        kind = answers.get("kind") or ("none" if target.kind == "none" else
                                       "aci_existing" if target.existing else "aci_new")
        for button in self.query_one("#kind", RadioSet).query(RadioButton):
            button.value = button.name == kind
        self.query_one("#name", Input).value = answers.get("name", "" if target.existing else target.container_group)
        self.query_one("#image", Input).value = answers.get("image", target.image)
        self.query_one("#command", Input).value = answers.get("command", shlex.join(target.command))
        self.wanted = answers.get("existing") or (f"{target.resource_group or self.draft.spec.resource_group}/"
                                                  f"{target.container_group}" if target.existing else "")
        self.query_one("#kind", RadioSet).focus()
        self.check()
        self.load(self.draft.spec.subscription)

    @work(thread=True, group="groups", exclusive=True, exit_on_error=False)
    def load(self, subscription: str) -> None:
        from wizard import catalog
        self.post_message(PageLoaded("container_groups", catalog.container_groups(self.services.session,
                                                                                  subscription), True))

    def on_page_loaded(self, message: PageLoaded) -> None:
        select = self.query_one("#existing", Select)
        select.set_options([(f"{g.name}  ({g.resource_group}, {g.image})", f"{g.resource_group}/{g.name}")
                            for g in message.rows])
        select.prompt = "Choose the container group" if message.rows else "No container group in this subscription"
        if self.wanted in {f"{g.resource_group}/{g.name}" for g in message.rows}:
            select.value = self.wanted
        self.check()

    @property
    def kind(self) -> str:
        return chosen(self.query_one("#kind", RadioSet), "aci_new")

    @on(RadioSet.Changed)
    @on(Input.Changed)
    @on(Select.Changed)
    def check(self, _: Any = None) -> None:
        kind = self.kind
        for widget in self.query(".new"):
            widget.display = kind == "aci_new"
        for widget in self.query(".existing"):
            widget.display = kind == "aci_existing"
        status = self.query_one("#status", Note)
        problem, note = None, ""
        if kind == "aci_new":
            name = self.query_one("#name", Input).value.strip()
            problem = validate_container_group_name(name) if name else "Name the container group."
            if not problem and not self.query_one("#image", Input).value.strip():
                problem = "A new container group needs an image."
            note = f"{name} will be created with the identity attached and AZURE_CLIENT_ID set."
        elif kind == "aci_existing":
            value = self.query_one("#existing", Select).value
            problem = None if isinstance(value, str) else "Choose the container group."
            note = ("The identity is added to it and it is re-deployed: every container restarts. "
                    "AZURE_CLIENT_ID is set where it is not already.")
        else:
            note = "Only the identity, the vault, the secret and the grant; verification skips the live probe."
        status.say(problem or note, "error" if problem else "")
        self.can_advance = problem is None

    def typed(self) -> dict[str, Any]:
        value = self.query_one("#existing", Select).value
        return {"kind": self.kind, "name": self.query_one("#name", Input).value.strip(),
                "image": self.query_one("#image", Input).value.strip(),
                "command": self.query_one("#command", Input).value.strip(),
                "existing": value if isinstance(value, str) else ""}

    def collect(self) -> Collected | None:
        answers = self.typed()
        if answers["kind"] == "none":
            return answers, {"target": {"kind": "none"}}
        if answers["kind"] == "aci_existing":
            group, _, name = answers["existing"].partition("/")
            own = "" if group == self.draft.spec.resource_group else group
            return answers, {"target": {"kind": "aci", "existing": True, "container_group": name,
                                        "resource_group": own}}
        try:
            command = shlex.split(answers["command"])
        except ValueError as err:
            self.query_one("#status", Note).say(f"The command cannot be read: {err}.", "error")
            return None
        return answers, {"target": {"kind": "aci", "existing": False, "container_group": answers["name"],
                                    "resource_group": "", "image": answers["image"], "command": command}}
