"""Target: where the workload runs with the identity. The choices, their fields and notes come from the target
registry (wizard.targets): each kind offers its choices (an ACI container group, new or existing; a Batch pool;
AKS pods; GitHub Actions; a platform's identity; none) and, when it has some, its fields widget
(screens/target_<kind>.py, a TargetFields). This screen knows no kind by name.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable
from typing import Any

from textual import on
from textual.widget import Widget
from textual.widgets import Checkbox, Input, RadioButton, RadioSet, Select

from wizard.targets import TargetKind, choice_kind, kinds

from .base import Collected, Note, WizardScreen, chosen
from .errors import WorkFailed
from .messages import PageLoaded
from .order import TARGET_FIELDS
from .target_fields import TargetFields

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
- **A platform's identity** (Union.ai, a CI system): the platform signs in as it; mi-wizard gives it the secret
  and the other access its tasks need, and proves each grant.
- **No compute target**: the identity, vault, secret and grant only; attach the identity yourself later (for a
  Prefect ACI work pool, its `identities` field takes the identity's resource id).

Verification then runs a short-lived probe (a container, or a task on the Batch pool) with the identity that
reads the secret.
"""


class TargetScreen(WizardScreen):
    SCREEN_ID = "target"
    RETRIES = frozenset({"container-groups", "batch"})
    LEAD = "Where your workload runs with the identity."
    HELP = HELP

    def compose_body(self) -> Iterable[Widget]:
        with RadioSet(id="kind"):
            for kind in kinds():
                for key, label in kind.choices:
                    yield RadioButton(label, name=key)
        for kind in kinds():
            where = TARGET_FIELDS.get(kind.kind, "")
            if where:
                module, _, name = where.partition(":")
                yield getattr(importlib.import_module(f"screens.{module}"), name)(id=f"fields-{kind.kind}")
        yield Note("", id="status")

    def fields(self, kind: TargetKind) -> TargetFields | None:
        found = self.query(f"#fields-{kind.kind}")
        return found.first(TargetFields) if found else None

    def on_mount(self) -> None:
        super().on_mount()
        spec = self.draft.spec
        answers = self.answers()
        current = next((kind for kind in kinds() if kind.kind == spec.target.kind), None)
        choice = answers.get("kind") or (current.choice_of(spec.target) if current is not None else "")
        for button in self.query_one("#kind", RadioSet).query(RadioButton):
            button.value = button.name == choice
        for kind in kinds():
            fields = self.fields(kind)
            if fields is not None:
                fields.restore(answers.get(kind.kind, {}), spec)
                fields.load(spec.subscription)
        self.query_one("#kind", RadioSet).focus()
        self.check()

    @property
    def kind(self) -> str:
        return chosen(self.query_one("#kind", RadioSet), "aci_new")

    def on_page_loaded(self, message: PageLoaded) -> None:
        self.check()  # a kind's fields read their list; what it means may have changed

    def on_work_failed(self, message: WorkFailed) -> None:
        self.check()  # the fields marked their list as not loaded; the base screen shows why

    def load_data(self) -> None:
        for kind in kinds():
            fields = self.fields(kind)
            if fields is not None:
                fields.load(self.draft.spec.subscription)

    @on(RadioSet.Changed)
    @on(Input.Changed)
    @on(Select.Changed)
    @on(Checkbox.Changed)
    def check(self, _: Any = None) -> None:
        choice = self.kind
        picked = choice_kind(choice)
        for kind in kinds():
            fields = self.fields(kind)
            if fields is not None:
                fields.show(choice if kind is picked else None)
        fields = self.fields(picked)
        problem, note, severity = fields.evaluate(choice, self.draft.spec) if fields is not None else (
            None, picked.choice_note, "")
        loading = problem is not None and problem.startswith("Loading")
        self.query_one("#status", Note).say(problem or note, "" if loading else "error" if problem else severity)
        self.can_advance = problem is None

    def typed(self) -> dict[str, Any]:
        answers: dict[str, Any] = {"kind": self.kind}
        picked = choice_kind(self.kind)
        for kind in kinds():
            fields = self.fields(kind)
            if fields is not None:
                answers[kind.kind] = fields.typed()
        fields = self.fields(picked)
        answers["screens"] = fields.more_screens(self.kind) if fields is not None else []
        return answers

    def collect(self) -> Collected | None:
        answers, picked = self.typed(), choice_kind(self.kind)
        fields = self.fields(picked)
        if fields is None:
            return answers, {"target": {"kind": picked.kind}}
        patch = fields.patch(self.kind, self.draft.spec)
        if patch is None:
            self.query_one("#status", Note).say(fields.refusal or "Check the fields above.", "error")
            return None
        return answers, {"target": patch}
