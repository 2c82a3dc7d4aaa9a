"""Create or adopt the user-assigned managed identity; record its resource, principal and client ids."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from azure.mgmt.core.tools import resource_id

from .base import ADOPT, CREATE, NOTHING, PlanItem, RunContext, Step, not_found_is_none


def read_identity(ctx: RunContext) -> Any:
    """The identity as Azure has it; None when it does not exist, or when this run's plan creates it (or its
    group): there is nothing to read then."""
    spec = ctx.spec
    if ctx.plan_creates("identity") or ctx.group_created(spec.identity_group):
        return None
    return ctx.read(f"identity:{spec.identity_group.lower()}/{spec.identity.name.lower()}", lambda: not_found_is_none(
        lambda: ctx.clients.msi.user_assigned_identities.get(spec.identity_group, spec.identity.name)))


@dataclass(frozen=True)
class IdentityOut:
    """What the identity step hands the steps after it (and records in the state)."""

    id: str
    name: str
    principal_id: str
    client_id: str
    tenant_id: str
    location: str


def identity_outputs(identity: Any) -> IdentityOut:
    return IdentityOut(id=identity.id, name=identity.name, principal_id=identity.principal_id,
                       client_id=identity.client_id, tenant_id=identity.tenant_id, location=identity.location)


@dataclass(frozen=True)
class IdentitySeen:
    identity: Any
    """The SDK's Identity, or None (none yet, or this run creates it or its group)."""


class IdentityStep(Step):
    id = "identity"
    Outputs = IdentityOut
    title = "Managed identity"
    requires = ("resource_group",)

    def refresh(self, ctx: RunContext) -> IdentitySeen:
        return IdentitySeen(read_identity(ctx))  # None when its group is about to be created: nothing to read

    def plan(self, ctx: RunContext, observed: IdentitySeen) -> PlanItem:
        identity = observed.identity
        name = ctx.spec.identity.name
        if identity is None:
            return self.item(CREATE, f"No identity named {name} in {ctx.spec.identity_group}; it will be created.")
        recorded = ctx.state.step(self.id).outputs.get("principal_id") == identity.principal_id
        return self.item(NOTHING if recorded else ADOPT,
                         f"{name} exists (client id {identity.client_id}).",
                         data={"outputs": identity_outputs(identity), "origin": ctx.found(identity)})

    def apply(self, ctx: RunContext, item: PlanItem) -> IdentityOut:
        if "outputs" in item.data:
            found: IdentityOut = item.data["outputs"]
            ctx.claim(self.id, kind="identity", id=found.id, origin=item.data["origin"], step=self.id)
            return found
        spec = ctx.spec
        planned_id = resource_id(subscription=ctx.subscription_id, resource_group=spec.identity_group,
                                 namespace="Microsoft.ManagedIdentity", type="userAssignedIdentities",
                                 name=spec.identity.name)
        ctx.claim(self.id, kind="identity", id=planned_id, origin="created", step=self.id)
        ctx.say(self.id, f"Creating identity {ctx.spec.identity.name}")
        identity = ctx.clients.msi.user_assigned_identities.create_or_update(
            ctx.spec.identity_group, ctx.spec.identity.name,
            {"location": ctx.spec.location, "tags": ctx.tags})
        ctx.reads.put(f"identity:{ctx.spec.identity_group.lower()}/{ctx.spec.identity.name.lower()}", identity)
        return identity_outputs(identity)
