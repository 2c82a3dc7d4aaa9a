"""Identity: the user-assigned managed identity the workload runs as; a new name, or an existing one adopted."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from textual import on, work
from textual.widget import Widget
from textual.widgets import Checkbox, Input, Select

from wizard.azure.names import validate_identity_name

from .base import Collected, Note, WizardScreen, field
from .errors import WorkFailed
from .messages import PageLoaded

HELP = """
A **user-assigned managed identity** is an Azure identity with no password: Azure hands tokens for it to the
resources it is attached to (here, {target}). It outlives the workload, so a re-deployed workload
keeps its access, and one identity can serve several workloads.

If an identity exists already (yours, or one a platform made), pick it: mi-wizard adopts it as it is and only
adds what is missing. Names: 3-128 letters, digits, hyphens and underscores, starting with a letter or digit.

**Use an existing identity** (a platform's own, e.g. a data plane's `userflyterole`): tick the box and
mi-wizard never creates, changes or deletes it. It only grants it access and adds federated credentials;
if the identity is gone, the plan stops and says so instead of making a new one.
"""


class IdentityScreen(WizardScreen):
    SCREEN_ID = "identity"
    RETRIES = frozenset({"identities"})
    LEAD = "The identity your workload will use. Azure gives it tokens; there is no password to leak."
    HELP = HELP

    def __init__(self, services: Any):
        super().__init__(services)
        self.found: dict[tuple[str, str], Any] = {}
        """(group, name) lower-case -> catalog.Identity, for everything in the subscription."""
        self.loaded: bool | None = False
        """True once the list is read, None when it cannot be (the plan checks an existing identity anyway)."""

    def compose_body(self) -> Iterable[Widget]:
        yield field("Name", Input(id="name", placeholder="id-my-workload", compact=True))
        yield Note("", id="status")
        yield field("Or adopt", Select([], prompt="Loading identities…", id="existing", allow_blank=True,
                                       compact=True))
        yield Checkbox("Use an existing identity as it is: never create or change it", id="existing-only")

    def on_mount(self) -> None:
        super().on_mount()
        answers, spec = self.answers(), self.draft.spec
        self.group = answers.get("resource_group") or spec.identity.resource_group or spec.resource_group
        self.query_one("#name", Input).value = answers.get("name", spec.identity.name)
        self.query_one("#existing-only", Checkbox).value = bool(answers.get("existing", spec.identity.existing))
        self.query_one("#name", Input).focus()
        self.load_data()

    def load_data(self) -> None:
        self.query_one("#existing", Select).prompt = "Loading identities…"
        self.load(self.draft.spec.subscription)

    @work(thread=True, group="identities", exclusive=True, exit_on_error=False,
          description="list the managed identities of the subscription")
    def load(self, subscription: str) -> None:
        from wizard import catalog
        self.post_message(PageLoaded("identities", catalog.identities(self.services.session, subscription), True))

    def on_page_loaded(self, message: PageLoaded) -> None:
        self.found = {(i.resource_group.lower(), i.name.lower()): i for i in message.rows}
        self.loaded = True
        select = self.query_one("#existing", Select)
        select.set_options([(f"{i.name}  ({i.resource_group}, {i.location})", f"{i.resource_group}/{i.name}")
                            for i in message.rows])
        select.prompt = "Choose one to adopt" if message.rows else "No identity in this subscription yet"
        self.check()

    def on_work_failed(self, message: WorkFailed) -> None:
        # The list is a convenience (a typed name works): it says it is not there; the screen shows why.
        self.query_one("#existing", Select).prompt = message.failure.line()
        self.loaded = None
        self.check()

    @on(Select.Changed, "#existing")
    def adopt(self, event: Select.Changed) -> None:
        if isinstance(event.value, str):
            self.group, _, name = event.value.partition("/")
            self.query_one("#name", Input).value = name

    @on(Input.Changed, "#name")
    @on(Checkbox.Changed, "#existing-only")
    def check(self, _: Any = None) -> None:
        name = self.query_one("#name", Input).value.strip()
        problem = validate_identity_name(name)
        status = self.query_one("#status", Note)
        self.can_advance = problem is None
        if problem:
            status.say(problem, "error" if name else "")
            return
        existing = self.found.get((self.group.lower(), name.lower()))
        use_existing = self.query_one("#existing-only", Checkbox).value
        if existing is None and use_existing:  # typed: the identity of that name, in whichever group it is
            existing = next((i for (_g, n), i in sorted(self.found.items()) if n == name.lower()), None)
            if existing is not None:
                self.group = existing.resource_group
        if existing is None and self.found:
            self.group = self.draft.spec.resource_group  # a typed name is a new identity in the setup's group
        if use_existing:
            if existing is not None:
                status.say(f"{name} ({existing.resource_group}) is used as it is: mi-wizard never creates, changes "
                           f"or deletes it, only grants it access (client id {existing.client_id}).", "ok")
            elif self.loaded is None:
                status.say(f"{name} must exist in {self.group}: the plan checks it.", "warn")
            else:
                self.can_advance = False
                status.say(f"No identity named {name} in this subscription. Pick one from the list, or untick the "
                           "box to create a new one." if self.loaded else f"Looking for {name}…",
                           "error" if self.loaded else "")
        elif existing is not None:
            status.say(f"{name} exists in {existing.resource_group}: it will be adopted as it is "
                       f"(client id {existing.client_id}).", "ok")
        else:
            status.say(f"A new identity {name} will be created in {self.group}.", "ok")

    @on(Input.Submitted, "#name")
    def submitted(self) -> None:
        self.action_next()

    def typed(self) -> dict[str, Any]:
        return {"name": self.query_one("#name", Input).value.strip(), "resource_group": self.group,
                "existing": self.query_one("#existing-only", Checkbox).value}

    def collect(self) -> Collected | None:
        answers = self.typed()
        own = "" if answers["resource_group"] == self.draft.spec.resource_group else answers["resource_group"]
        return answers, {"identity": {"name": answers["name"], "resource_group": own,
                                      "existing": answers["existing"]}}
