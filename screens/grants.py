"""Other access: extra roles for the identity on other resources (a storage account or one container, a
registry, a vault or one secret of another vault), from mi-wizard's curated least-privilege list.

Each role says what it allows, and broad ones say why they are broad; the resource decides which roles fit.
The list is checked with the spec's own rules (wizard.spec_rules), and the plan reads every scope again.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from rich.text import Text
from textual import on
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widget import Widget
from textual.widgets import Input, Select

from wizard.azure import roles
from wizard.spec import ExtraGrantSpec, Spec
from wizard.spec_rules import grant_problems

from .base import Collected, Note, field
from .button import Button
from .entries import EntriesScreen, EntryTable
from .filter_list import FilterList, Row
from .picker import Picker, rows_of

HELP = """
Grants here give the identity a role on **another resource**, for what the workload does besides reading its
secret: Batch jobs writing to a data lake container, pods pulling images, a platform's tasks reading a secret
kept in another team's vault.

Choose the resource (type to filter; Enter chooses), then the role: the list shows the roles that fit it,
**least privilege first**, each with what it allows. Broad roles (Contributor, Owner-like data roles, push
rights) carry a warning: prefer the narrowest one that works, on the narrowest scope (one container rather than
the whole account, one secret rather than the vault).

Vaults with *access policies* ignore roles: grant them through an access policy, or use an RBAC vault.
**Ctrl+T** adds the grant to the list; Next adds a complete one that is not added yet. Delete (on the list) or
*Remove selected* takes one out. No grant at all is fine: Next goes on.
"""

def scope_row(scope: Any) -> Row:
    return Row(scope.id, scope.label, f"{scope.detail} · {scope.resource_group}" if scope.detail else
               scope.resource_group, scope)


def scope_label(scope: str) -> str:
    """A short name of a spec scope ("container raw"), whatever its form."""
    # Imported here: wizard.azure.scopes loads the Azure SDK, which the UI does not load before a session opens.
    from wizard.azure.scopes import label_of
    return label_of(scope)


def grant_row(entry: dict[str, Any]) -> tuple[Text, str, Text]:
    role = roles.find(entry["role"])
    return (Text(entry["role"], "bold yellow" if role is None or role.warning else "bold"), scope_label(entry["scope"]),
            Text(entry.get("note", ""), "dim"))


class GrantsScreen(EntriesScreen):
    SCREEN_ID = "grants"
    RETRIES = frozenset({"pages"})
    LEAD = "Other access for the identity (optional): a role on a storage container, a registry, another secret."
    HELP = HELP
    BINDINGS = [Binding("ctrl+t", "add", "Add grant")]

    def __init__(self, services: Any, scopes: list[Any] | None = None):
        super().__init__(services)
        self.scopes = scopes
        """catalog.GrantScope records; given (snapshots) or read page by page on mount."""
        self.scope: Any = None
        """The chosen catalog.GrantScope (Enter on a row)."""
        self.ready = False

    def compose_body(self) -> Iterable[Widget]:
        yield EntryTable(("role", "scope", "note"), grant_row, id="grants")
        yield Picker(what="storage accounts, registries and vaults", id="scopes", placeholder="Type to filter: storage, containers, registries, vaults, secrets",
                     empty="No storage account, registry or vault in this subscription.")
        yield field("Role", Select([], prompt="Choose a resource above (Enter)", id="role", allow_blank=True,
                                   compact=True))
        yield Note("", id="role-note")
        yield field("Why", Input(id="note", placeholder="optional: why the workload needs it", compact=True))
        yield Note("", id="status")
        with Horizontal(classes="buttons"):
            yield Button("Add grant", id="add", compact=True)
            yield Button("Remove selected", id="remove", compact=True)

    def on_mount(self) -> None:
        super().on_mount()
        spec, answers = self.draft.spec, self.answers()
        self.table.set_entries([self._compact(e) for e in answers.get("entries", [
            {"role": g.role, "scope": g.scope, "note": g.note, "allow_any_role": g.allow_any_role}
            for g in spec.grant_extra])])
        self.query_one("#note", Input).value = answers.get("note", "")
        picker = self.query_one(Picker)
        if self.scopes is not None:
            picker.list.add_rows([scope_row(s) for s in self.scopes], done=True)
        else:
            session, subscription = self.services.session, spec.subscription

            def pages() -> Iterable[list[Row]]:
                from wizard import catalog
                return rows_of(catalog.grant_scopes(session, subscription), scope_row)
            picker.load(pages)
        picker.filter_input.focus()
        self.check()

    def load_data(self) -> None:
        self.query_one(Picker).reload()

    @staticmethod
    def _compact(entry: dict[str, Any]) -> dict[str, Any]:
        out = {"role": entry.get("role", ""), "scope": entry.get("scope", "")}
        if entry.get("note"):
            out["note"] = entry["note"]
        if entry.get("allow_any_role"):
            out["allow_any_role"] = True
        return out

    # -- choosing -------------------------------------------------------------------------------------------
    @on(FilterList.Selected)
    def chose_scope(self, event: FilterList.Selected) -> None:
        self.scope = event.row.data
        select = self.query_one("#role", Select)
        fitting = roles.for_resource(self.scope.resource_type)
        select.set_options([(f"{r.name}" + ("  (broad)" if r.warning else ""), r.name) for r in fitting])
        select.prompt = "Choose the role"
        select.value = fitting[0].name  # least privilege first
        select.focus()
        self.check()

    def role(self) -> Any | None:
        value = self.query_one("#role", Select).value
        return roles.find(value) if isinstance(value, str) else None

    def candidate(self) -> dict[str, Any] | None:
        role = self.role()
        if self.scope is None or role is None:
            return None
        return self._compact({"role": role.name, "scope": self.scope.spec_scope,
                              "note": self.query_one("#note", Input).value.strip()})

    def problems(self, entry: dict[str, Any]) -> list[str]:
        scope = self.scope
        if scope is not None and not scope.rbac:
            vault = scope.parent or scope.name
            return [f"{vault} uses access policies: Azure ignores roles on it. Give the identity an access policy "
                    "there, or choose a secret of an RBAC vault."]
        same = [e for e in self.entries if (e["role"].lower(), e["scope"].lower()) == (entry["role"].lower(),
                                                                                       entry["scope"].lower())]
        if same:
            return [f"{entry['role']} on {scope_label(entry['scope'])} is in the list already."]
        spec = Spec(grant_extra=[ExtraGrantSpec(**entry)])
        return [p.replace("grant_extra[0].", "") for p in grant_problems(spec)]

    @on(Select.Changed, "#role")
    @on(Input.Changed, "#note")
    def check(self, _: Any = None) -> None:
        role, entry = self.role(), self.candidate()
        role_note = self.query_one("#role-note", Note)
        if role is None:
            role_note.say("")
        else:
            role_note.say(f"{role.name} allows: {role.allows}" + (f"\nWarning: {role.warning}" if role.warning else ""),
                          "warn" if role.warning else "")
        status = self.query_one("#status", Note)
        problems = self.problems(entry) if entry is not None else []
        count = len(self.entries)
        have = f"{count} grant{'s' if count != 1 else ''} in the list. " if count else ""
        if entry is None:
            status.say(have + ("Next goes on." if count else "No extra grant is fine: Next goes on. To add one, "
                               "choose a resource above (Enter), then a role."))
        elif problems:
            status.say("; ".join(problems) + " (Next goes on without it.)", "error")
        else:
            status.say(have + f"Ready: {entry['role']} on {self.scope.label}. Add it (Ctrl+T), or Next adds it.",
                       "ok")
        self.ready = entry is not None and not problems
        self.query_one("#add", Button).disabled = not self.ready
        self.query_one("#remove", Button).disabled = not self.entries
        self.can_advance = True  # extra grants are optional; a grant with problems is never added

    # -- the list -------------------------------------------------------------------------------------------
    @on(Button.Pressed, "#add")
    def action_add(self) -> None:
        entry = self.candidate()
        if entry is None or self.problems(entry):
            return
        self.table.add(entry)
        self.scope = None
        select = self.query_one("#role", Select)
        select.set_options([])
        select.prompt = "Choose a resource above (Enter)"
        self.query_one("#note", Input).value = ""
        self.query_one(Picker).filter_input.focus()
        self.check()

    # -- saving ---------------------------------------------------------------------------------------------
    def typed(self) -> dict[str, Any]:
        return {"entries": list(self.entries), "note": self.query_one("#note", Input).value.strip()}

    def collect(self) -> Collected | None:
        if self.ready:  # a complete grant that is not added yet counts, as if added
            self.action_add()
        answers = self.typed()
        return answers, {"grant_extra": [dict(e) for e in self.entries]}
