"""Subscription: every subscription the signed-in account sees, filtered as you type."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from textual import on
from textual.widget import Widget

from .base import Collected, WizardScreen
from .filter_list import FilterList, Row
from .picker import Picker, rows_of

HELP = """
The subscription pays for the identity, the vault and the container group, and holds the role assignment.
Only subscriptions your sign-in can see are listed; if one is missing, you may be signed in to another tenant.

Type to filter (every word must match the name or the id), Up/Down to move, Enter to choose.
"""


class SubscriptionScreen(WizardScreen):
    SCREEN_ID = "subscription"
    RETRIES = frozenset({"pages"})
    LEAD = "Where the setup's resources will live. Type to filter; Enter chooses."
    HELP = HELP

    def compose_body(self) -> Iterable[Widget]:
        yield Picker(what="subscriptions", placeholder="Filter subscriptions by name or id",
                     empty="No subscription is visible to you.", id="subscriptions")

    def on_mount(self) -> None:
        super().on_mount()
        from wizard import catalog
        session = self.services.session
        answers = self.answers()
        picker = self.query_one(Picker)
        wanted = answers.get("id") or (self.draft.spec.subscription if self.draft else "")
        picker.load(lambda: rows_of(catalog.subscriptions(session), _row), wanted=wanted or None,
                    filter_text=answers.get("filter", ""))
        picker.filter_input.focus()

    def load_data(self) -> None:
        self.query_one(Picker).reload()

    @on(FilterList.Highlighted)
    def highlighted(self, event: FilterList.Highlighted) -> None:
        self.can_advance = event.row is not None

    @on(FilterList.Selected)
    def selected(self, event: FilterList.Selected) -> None:
        self.action_next()

    def typed(self) -> dict[str, Any]:
        picker = self.query_one(Picker)
        row = picker.list.highlighted
        return {"filter": picker.filter_input.value, "id": row.key if row else "", "name": row.label if row else ""}

    def collect(self) -> Collected | None:
        answers = self.typed()
        return (answers, {"subscription": answers["id"]}) if answers["id"] else None


def _row(sub: Any) -> Row:
    return Row(sub.id, sub.name, sub.id if sub.state == "Enabled" else f"{sub.state}  {sub.id}", sub)
