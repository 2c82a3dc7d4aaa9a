"""Target: where the workload runs with the identity: an ACI container group (new or existing), an Azure Batch
pool (existing, or new; target_batch.py), or no compute target: AKS pods and GitHub Actions sign in with a
federated credential (the next screen), and a platform's identity only needs grants.
"""

from __future__ import annotations

import shlex
from collections.abc import Iterable
from typing import Any

from textual import on, work
from textual.widget import Widget
from textual.widgets import Checkbox, Input, RadioButton, RadioSet, Select

from wizard.azure.names import validate_container_group_name
from wizard.targets.aci import AciTarget

from .base import Collected, Note, WizardScreen, chosen, field
from .messages import LoadFailed, PageLoaded, fetched
from .target_batch import BatchFields

TARGETS = (("aci_new", "A new ACI container group", True), ("aci_existing", "An existing ACI container group", True),
           ("batch_existing", "An existing Azure Batch pool (the identity is added to it)", True),
           ("batch_new", "A new Azure Batch pool, created with the identity", True),
           ("aks", "AKS pods: workload identity (a federated credential, no compute here)", True),
           ("github", "GitHub Actions: OIDC sign-in (a federated credential, no compute here)", True),
           ("none", "No compute target (identity, vault and grants only)", True))
FEDERATED = ("aks", "github")

HELP = """
The **target** is what runs your workload with the identity.

- **A new container group** (Azure Container Instances) is created with the identity attached and
  `AZURE_CLIENT_ID` set, so `DefaultAzureCredential` / `ManagedIdentityCredential` pick this identity.
- **An existing container group** gets the identity added. Azure re-deploys it: **every container
  restarts**. Groups with secure environment variables cannot be updated this way (their values are never
  returned); mi-wizard refuses and says why.
- **An existing Azure Batch pool** gets the identity added to its identity map (pools take user-assigned
  identities only). **Batch nodes keep the identities they booted with**: when the pool has nodes, they get
  the identity only after the pool scales to 0 and back. Tick the box to let mi-wizard do that (running tasks
  finish first; the pool has no nodes for a few minutes; its node counts or autoscale formula are restored,
  even after an interruption).
- **A new Azure Batch pool** is created with the identity, so its nodes boot with it.
- **AKS pods** and **GitHub Actions** run outside this subscription's compute: they sign in with a *federated
  credential* (chosen on the next screen), with no secret stored anywhere.
- **No compute target**: the identity, vault, secret and grant only; attach the identity yourself later (for a
  Prefect ACI work pool, its `identities` field takes the identity's resource id), or use a platform's existing
  identity and give it grants.

Verification then runs a short-lived probe (a container, or a task on the Batch pool) with the identity that
reads the secret.
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
        yield BatchFields(id="batch")
        yield Note("", id="status")
        yield Checkbox("Also give it access to other resources (storage, a registry, a vault)", id="more-grants")

    def on_mount(self) -> None:
        super().on_mount()
        spec = self.draft.spec
        answers, target = self.answers(), spec.target
        existing = bool(getattr(target, "existing", False))
        kind = answers.get("kind") or (
            (spec.federation[0].kind if spec.federation else "none") if target.kind == "none" else
            ("batch_existing" if existing else "batch_new") if target.kind == "batch" else
            "aci_existing" if existing else "aci_new")
        for button in self.query_one("#kind", RadioSet).query(RadioButton):
            button.value = button.name == kind
        aci = target if isinstance(target, AciTarget) else AciTarget()  # another kind: the ACI fields' defaults
        self.query_one("#name", Input).value = answers.get("name", "" if aci.existing else aci.container_group)
        self.query_one("#image", Input).value = answers.get("image", aci.image)
        self.query_one("#command", Input).value = answers.get("command", shlex.join(aci.command))
        self.query_one("#more-grants", Checkbox).value = bool(answers.get("more_grants", spec.grant_extra))
        self.query_one(BatchFields).restore(answers.get("batch", {}), target, spec.resource_group)
        self.wanted = answers.get("existing") or (f"{aci.resource_group or self.draft.spec.resource_group}/"
                                                  f"{aci.container_group}" if aci.existing else "")
        self.query_one("#kind", RadioSet).focus()
        self.check()
        self.load(self.draft.spec.subscription)
        self.load_batch(self.draft.spec.subscription)

    @work(thread=True, group="batch", exclusive=True, exit_on_error=False)
    def load_batch(self, subscription: str) -> None:
        from wizard import catalog
        self.post_message(fetched("batch", lambda: catalog.batch_accounts(self.services.session, subscription)))

    def on_load_failed(self, message: LoadFailed) -> None:
        if message.source == "batch":
            self.query_one(BatchFields).show_accounts(None)
            self.check()

    @work(thread=True, group="groups", exclusive=True, exit_on_error=False)
    def load(self, subscription: str) -> None:
        from wizard import catalog
        self.post_message(PageLoaded("container_groups", catalog.container_groups(self.services.session,
                                                                                  subscription), True))

    def on_page_loaded(self, message: PageLoaded) -> None:
        if message.source == "batch":
            self.query_one(BatchFields).show_accounts(message.rows)
            self.check()
            return
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
    @on(Checkbox.Changed)
    def check(self, _: Any = None) -> None:
        kind = self.kind
        for widget in self.query(".new"):
            widget.display = kind == "aci_new"
        for widget in self.query(".existing"):
            widget.display = kind == "aci_existing"
        batch = self.query_one(BatchFields)
        batch.show(kind)
        self.query_one("#more-grants").display = kind.startswith("aci")
        status = self.query_one("#status", Note)
        problem, note, severity = None, "", ""
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
        elif kind.startswith("batch"):
            spec = self.draft.spec
            problem, note, severity = batch.evaluate(kind, spec.identity_group, spec.identity.name)
        elif kind == "aks":
            note = ("Pods sign in as the identity through a federated credential that trusts the cluster's OIDC "
                    "issuer for one service account: choose the cluster next.")
        elif kind == "github":
            note = ("Workflow runs sign in as the identity through a federated credential that trusts GitHub's "
                    "OIDC tokens for one repository and branch, environment, tag or pull requests: choose them next.")
        else:
            note = "No compute target: verification checks the identity, its grants and the secret (no live probe)."
        loading = problem is not None and problem.startswith("Loading")
        status.say(problem or note, "" if loading else "error" if problem else severity)
        self.can_advance = problem is None

    def typed(self) -> dict[str, Any]:
        value = self.query_one("#existing", Select).value
        more = self.query_one("#more-grants", Checkbox).value and self.kind.startswith("aci")
        return {"kind": self.kind, "screens": (["federation"] if self.kind in FEDERATED else []) +
                (["grants"] if more else []), "name": self.query_one("#name", Input).value.strip(),
                "image": self.query_one("#image", Input).value.strip(),
                "command": self.query_one("#command", Input).value.strip(),
                "existing": value if isinstance(value, str) else "",
                "batch": self.query_one(BatchFields).typed(),
                "more_grants": self.query_one("#more-grants", Checkbox).value}

    def collect(self) -> Collected | None:
        answers = self.typed()
        if answers["kind"] in ("none", *FEDERATED):
            return answers, {"target": {"kind": "none"}}
        if answers["kind"].startswith("batch"):
            return answers, {"target": self.query_one(BatchFields).patch(answers["kind"],
                                                                         self.draft.spec.resource_group)}
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
