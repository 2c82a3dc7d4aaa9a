"""The target screen's Azure Container Instances part: a new container group (created with the identity and
AZURE_CLIENT_ID) or an existing one (the identity is added; it is re-deployed and its containers restart)."""

from __future__ import annotations

import shlex
from typing import TYPE_CHECKING, Any

from textual import work
from textual.app import ComposeResult
from textual.widgets import Checkbox, Input, Select

from wizard.azure.names import validate_container_group_name
from wizard.targets.aci import AciTarget

from .base import field
from .errors import WorkFailed
from .messages import PageLoaded
from .target_fields import TargetFields

if TYPE_CHECKING:
    from wizard.spec import Spec


class AciFields(TargetFields):
    def __init__(self, *, id: str | None = None):
        super().__init__(id=id)
        self.wanted = ""
        self.loaded = False

    def compose(self) -> ComposeResult:
        yield field("Group name", Input(id="name", placeholder="cg-my-workload", compact=True)).add_class("new")
        yield field("Image", Input(id="image", placeholder="mcr.microsoft.com/azure-cli", compact=True)).add_class("new")
        yield field("Command", Input(id="command", placeholder="optional, e.g. prefect worker start --pool aci",
                                     compact=True)).add_class("new")
        yield field("Container group", Select([], prompt="Loading container groups…", id="existing",
                                              allow_blank=True, compact=True)).add_class("existing")
        yield Checkbox("Also give it access to other resources (storage, a registry, a vault)", id="more-grants")

    def restore(self, answers: dict[str, Any], spec: Spec) -> None:
        aci = spec.target if isinstance(spec.target, AciTarget) else AciTarget()  # another kind: ACI's defaults
        self.query_one("#name", Input).value = answers.get("name", "" if aci.existing else aci.container_group)
        self.query_one("#image", Input).value = answers.get("image", aci.image)
        self.query_one("#command", Input).value = answers.get("command", shlex.join(aci.command))
        self.query_one("#more-grants", Checkbox).value = bool(answers.get("more_grants", spec.grant_extra))
        self.wanted = answers.get("existing") or (f"{aci.resource_group or spec.resource_group}/"
                                                  f"{aci.container_group}" if aci.existing else "")

    @work(thread=True, group="container-groups", exclusive=True, exit_on_error=False,
          description="list the container groups of the subscription")
    def load(self, subscription: str) -> None:
        from wizard import catalog
        session = self.app.services.session  # type: ignore[attr-defined]
        self.post_message(PageLoaded("container_groups", catalog.container_groups(session, subscription), True))

    def on_page_loaded(self, message: PageLoaded) -> None:
        if message.source != "container_groups":
            return
        self.loaded = True
        select = self.query_one("#existing", Select)
        select.set_options([(f"{g.name}  ({g.resource_group}, {g.image})", f"{g.resource_group}/{g.name}")
                            for g in message.rows])
        select.prompt = "Choose the container group" if message.rows else "No container group in this subscription"
        if self.wanted in {f"{g.resource_group}/{g.name}" for g in message.rows}:
            select.value = self.wanted

    def on_work_failed(self, message: WorkFailed) -> None:
        if message.work == "container-groups":
            self.query_one("#existing", Select).prompt = message.failure.line()

    def show(self, choice: str | None) -> None:
        super().show(choice)
        for widget in self.query(".new"):
            widget.display = choice == "aci_new"
        for widget in self.query(".existing"):
            widget.display = choice == "aci_existing"

    def evaluate(self, choice: str, spec: Spec) -> tuple[str | None, str, str]:
        if choice == "aci_existing":
            value = self.query_one("#existing", Select).value
            if not isinstance(value, str):
                return "Choose the container group.", "", ""
            return None, ("The identity is added to it and it is re-deployed: every container restarts. "
                          "AZURE_CLIENT_ID is set where it is not already."), ""
        name = self.query_one("#name", Input).value.strip()
        problem = validate_container_group_name(name) if name else "Name the container group."
        if not problem and not self.query_one("#image", Input).value.strip():
            problem = "A new container group needs an image."
        return problem, f"{name} will be created with the identity attached and AZURE_CLIENT_ID set.", ""

    def typed(self) -> dict[str, Any]:
        value = self.query_one("#existing", Select).value
        return {"name": self.query_one("#name", Input).value.strip(),
                "image": self.query_one("#image", Input).value.strip(),
                "command": self.query_one("#command", Input).value.strip(),
                "existing": value if isinstance(value, str) else "",
                "more_grants": self.query_one("#more-grants", Checkbox).value}

    def patch(self, choice: str, spec: Spec) -> dict[str, Any] | None:
        answers = self.typed()
        if choice == "aci_existing":
            group, _, name = answers["existing"].partition("/")
            return {"kind": "aci", "existing": True, "container_group": name,
                    "resource_group": "" if group == spec.resource_group else group}
        try:
            command = shlex.split(answers["command"])
        except ValueError as err:
            self.refusal = f"The command cannot be read: {err}."
            return None
        return {"kind": "aci", "existing": False, "container_group": answers["name"], "resource_group": "",
                "image": answers["image"], "command": command}

    def more_screens(self, choice: str) -> list[str]:
        return ["grants"] if self.query_one("#more-grants", Checkbox).value else []
