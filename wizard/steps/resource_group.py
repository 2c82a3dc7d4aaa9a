"""Use or create the resource group."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from azure.mgmt.core.tools import resource_id

from ..targets import target_kind
from .base import ADOPT, CREATE, NOTHING, PlanItem, RunContext, Step, not_found_is_none


def read_group(ctx: RunContext, name: str) -> Any:
    return ctx.read(f"rg:{name.lower()}", lambda: not_found_is_none(
        lambda: ctx.clients.resources.resource_groups.get(name)))


@dataclass(frozen=True)
class GroupsSeen:
    groups: dict[str, Any]
    """Each group the setup lives in, by name: the SDK's ResourceGroup, or None when it does not exist."""


@dataclass(frozen=True)
class GroupOut:
    id: str
    location: str


class ResourceGroupStep(Step):
    id = "resource_group"
    title = "Resource group"
    Outputs = GroupOut

    def refresh(self, ctx: RunContext) -> GroupsSeen:
        groups = {ctx.spec.resource_group, ctx.spec.identity_group, ctx.spec.vault_group}
        groups.update(target_kind(ctx.spec.target.kind).groups(ctx.spec))
        return GroupsSeen({name: read_group(ctx, name) for name in sorted(g for g in groups if g)})

    def plan(self, ctx: RunContext, observed: GroupsSeen) -> PlanItem:
        missing = [name for name, group in observed.groups.items() if group is None]
        main = observed.groups.get(ctx.spec.resource_group)
        found = {name: ctx.found(group) for name, group in observed.groups.items() if group is not None}
        if missing:
            return self.item(CREATE, f"{', '.join(missing)} does not exist yet; it will be created in "
                                     f"{ctx.spec.location}.", data={"missing": missing, "found": found})
        recorded = ctx.state.step(self.id).status == "done"
        where = f"exists in {main.location}" if main is not None else "exists"
        return self.item(NOTHING if recorded else ADOPT, f"{ctx.spec.resource_group} {where}.",
                         data={"missing": [], "found": found})

    def apply(self, ctx: RunContext, item: PlanItem) -> GroupOut:
        for name, origin in item.data.get("found", {}).items():
            ctx.claim(group_key(name), kind="resource_group", id=self.group_id(ctx, name), origin=origin,
                      step=self.id)
        for name in item.data.get("missing", []):
            ctx.claim(group_key(name), kind="resource_group", id=self.group_id(ctx, name), origin="created",
                      step=self.id)
            ctx.say(self.id, f"Creating resource group {name} in {ctx.spec.location}")
            ctx.clients.resources.resource_groups.create_or_update(
                name, {"location": ctx.spec.location, "tags": ctx.tags})
            ctx.forget(f"rg:{name.lower()}")
        group = read_group(ctx, ctx.spec.resource_group)
        return GroupOut(id=group.id, location=group.location)

    @staticmethod
    def group_id(ctx: RunContext, name: str) -> str:
        return str(resource_id(subscription=ctx.subscription_id, resource_group=name))


def group_key(name: str) -> str:
    """The provenance key of a resource group the setup lives in."""
    return f"resource_group:{name.lower()}"
