"""Resource group: pick an existing one (filtered as you type, loaded page by page) or name a new one."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from textual import on, work
from textual.binding import Binding
from textual.widget import Widget
from textual.widgets import Input, Select, TabbedContent, TabPane

from wizard.azure.names import validate_resource_group_name

from .base import Collected, Note, WizardScreen, field
from .errors import WorkFailed
from .filter_list import FilterList, Row
from .messages import PageLoaded
from .picker import Picker, rows_of

HELP = """
A resource group holds the identity, the vault and {target} (each can live elsewhere, but one
group keeps the setup easy to find and to delete). A **new** group is created when you apply, in the location
you pick; the identity and the vault are created in that location too.

Ctrl+G switches between the existing groups and a new one.
"""


class ResourceGroupScreen(WizardScreen):
    SCREEN_ID = "resource_group"
    RETRIES = frozenset({"pages", "locations"})
    LEAD = "Where the identity and the vault go. Pick a group, or create a new one (Ctrl+G)."
    HELP = HELP
    BINDINGS = [Binding("ctrl+g", "toggle_new", "New/existing")]

    def __init__(self, services: Any):
        super().__init__(services)
        self.existing: dict[str, str] = {}
        """Loaded group name (lower-case) -> location."""

    def compose_body(self) -> Iterable[Widget]:
        with TabbedContent(id="mode"):
            with TabPane("Existing group", id="existing"):
                yield Picker(what="resource groups", placeholder="Filter groups by name or location",
                             empty="No resource group yet: create a new one (Ctrl+G).", id="groups")
            with TabPane("New group", id="new"):
                yield field("Name", Input(placeholder="rg-my-workload", id="new-name", compact=True))
                yield field("Location", Select([], prompt="Loading locations…", id="location", allow_blank=True,
                                               compact=True))
        yield Note("", id="status")

    def on_mount(self) -> None:
        super().on_mount()
        from wizard import catalog
        answers, spec = self.answers(), self.draft.spec
        session, sub = self.services.session, spec.subscription
        new = answers.get("new", False)
        self.query_one("#new-name", Input).value = answers.get("new_name", spec.resource_group if new else "")
        self.location = answers.get("location") or spec.location or "eastus"
        picker = self.query_one(Picker)
        picker.load(lambda: rows_of(catalog.resource_groups(session, sub), lambda g: Row(g.name, g.name, g.location)),
                    wanted=(None if new else answers.get("name") or spec.resource_group or None),
                    filter_text=answers.get("filter", ""))
        self.query_one(TabbedContent).active = "new" if new else "existing"
        (self.query_one("#new-name", Input) if new else picker.filter_input).focus()
        self.load_locations(session, sub)

    def load_data(self) -> None:
        self.query_one(Picker).reload()
        self.query_one("#location", Select).prompt = "Loading locations…"
        self.load_locations(self.services.session, self.draft.spec.subscription)

    def on_work_failed(self, message: WorkFailed) -> None:
        if message.work == "locations":
            self.query_one("#location", Select).prompt = message.failure.line()

    @work(thread=True, group="locations", exclusive=True, exit_on_error=False,
          description="list the Azure locations of the subscription")
    def load_locations(self, session: Any, subscription: str) -> None:
        from wizard import catalog
        found = catalog.locations(session, subscription)
        self.app.call_from_thread(self._set_locations, found)

    def _set_locations(self, found: list[str]) -> None:
        select = self.query_one("#location", Select)
        # The blank entry stays in the list: it must not still say "Loading…" once the locations are there.
        select.prompt = "Choose a location" if found else "No location available in this subscription"
        select.set_options([(name, name) for name in found])
        if self.location in found:
            select.value = self.location
        self.refresh_state()

    # -- state --------------------------------------------------------------------------------------------
    @property
    def creating(self) -> bool:
        return self.query_one(TabbedContent).active == "new"

    def action_toggle_new(self) -> None:
        tabs = self.query_one(TabbedContent)
        tabs.active = "existing" if self.creating else "new"
        (self.query_one("#new-name", Input) if self.creating else self.query_one(Picker).filter_input).focus()

    @on(TabbedContent.TabActivated)
    @on(Input.Changed, "#new-name")
    @on(Select.Changed, "#location")
    @on(FilterList.Highlighted)
    def refresh_state(self, _: Any = None) -> None:
        status = self.query_one("#status", Note)
        if not self.creating:
            row = self.query_one(Picker).list.highlighted
            self.can_advance = row is not None
            status.say(f"The setup will use {row.label} ({row.detail})." if row else "")
            return
        name = self.query_one("#new-name", Input).value.strip()
        location = self.query_one("#location", Select).value
        problem = validate_resource_group_name(name) if name else "Type a name for the new group."
        if not problem and name.lower() in self.existing:
            problem = f"{name} exists already ({self.existing[name.lower()]}): pick it on the Existing tab."
        if not problem and location in (Select.NULL, None):
            problem = "Choose a location."
        self.can_advance = problem is None
        status.say(problem or f"{name} will be created in {location} when you apply.", "error" if problem and name
                   else ("" if problem else "ok"))

    def on_page_loaded(self, message: PageLoaded) -> None:
        self.existing.update({r.label.lower(): r.detail for r in message.rows})

    @on(FilterList.Selected)
    def selected(self) -> None:
        self.action_next()

    @on(Input.Submitted, "#new-name")
    def submitted(self) -> None:
        self.action_next()

    def typed(self) -> dict[str, Any]:
        picker = self.query_one(Picker)
        row = picker.list.highlighted
        location = self.query_one("#location", Select).value
        return {"new": self.creating, "filter": picker.filter_input.value, "name": row.label if row else "",
                "group_location": row.detail if row else "", "new_name": self.query_one("#new-name", Input).value,
                "location": location if isinstance(location, str) else self.location}

    def collect(self) -> Collected | None:
        answers = self.typed()
        if answers["new"]:
            return answers, {"resource_group": answers["new_name"].strip(), "location": answers["location"]}
        if not answers["name"]:
            return None
        return answers, {"resource_group": answers["name"], "location": answers["group_location"]}
