"""Only for `vault.secret_write = "data_plane"`: give the signed-in operator temporary access to write the
one secret through the vault's data plane, and take it away once the secret is written.

The default ARM write needs none of this (Owner and Contributor hold `vaults/secrets/write`). On an RBAC vault
an Owner has no data access at all, so the data-plane write needs Key Vault Secrets Officer, granted here on the
one secret; on an access-policy vault, a policy with secrets `set`. No standing grant is left behind.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from azure.core.exceptions import ResourceNotFoundError

from ..azure import roles
from ..azure.access import Grant, grants_for
from .base import CREATE, NOTHING, PlanItem, RunContext, Step
from .grant import GrantOut, assign_role, can_assign_roles, policy_allows, secret_scope
from .secret import secret_needs_write
from .vault import VaultOut, VaultStep, access_model, planned_model, read_vault, vault_id


@dataclass(frozen=True)
class OperatorAccessSeen:
    vault: Any
    needed: bool
    """The secret is to be written (through the data plane): you need access for that one write."""
    model: str = ""
    grants: list[Grant] = field(default_factory=list)
    can_assign: bool = True
    policy_ok: bool = False


@dataclass(frozen=True)
class OperatorAccessOut(GrantOut):
    """Your temporary grant; `removed` once the secret is written (so a resume removes it too)."""

    needed: bool = True
    temporary: bool = True
    removed: bool = False


class OperatorAccessStep(Step):
    id = "operator_access"
    title = "Your temporary access to write the secret"
    requires = ("vault",)
    Outputs = OperatorAccessOut

    def applies(self, spec: Any) -> bool:
        return bool(spec.uses_vault and spec.vault.secret_write == "data_plane")

    def refresh(self, ctx: RunContext) -> OperatorAccessSeen:
        vault = None if ctx.plan_creates("vault") else read_vault(ctx)
        if not secret_needs_write(ctx):
            return OperatorAccessSeen(vault, needed=False)
        model = access_model(vault) if vault is not None else planned_model(ctx)
        scope = secret_scope(vault_id(ctx, vault), ctx.spec.secret.name)
        if model != "rbac":
            return OperatorAccessSeen(vault, True, model, policy_ok=vault is not None and policy_allows(
                vault, ctx.operator.object_id, ["set"]))
        return OperatorAccessSeen(vault, True, model, grants=[] if vault is None else grants_for(
            ctx.clients, ctx.operator.object_id, roles.SET_SECRET, scope, data=True, reads=ctx.read),
            can_assign=can_assign_roles(ctx, scope))

    def plan(self, ctx: RunContext, observed: OperatorAccessSeen) -> PlanItem:
        if not observed.needed:
            return self.item(NOTHING, "The secret exists and is kept: you need no data access.")
        if observed.model == "access_policy":
            if observed.policy_ok:
                return self.item(NOTHING, "Your access policy already lets you set secrets.")
            return self.item(CREATE, "Add an access policy that lets you (secrets: set) write the secret; it is "
                                     "removed once the secret is written.", data={"model": "access_policy"})
        if observed.grants:
            g = observed.grants[0]
            return self.item(NOTHING, f"You can already write secrets here ({g.role_name} at {g.scope}).")
        problems = [] if observed.can_assign else [
            f"operator access: you ({ctx.operator.display}) need to write the secret through the data plane but hold "
            f"no Key Vault data role, and you may not assign roles (missing {roles.ROLE_ASSIGNMENTS_WRITE}). Use "
            "the default vault.secret_write = \"arm\" (Contributor is enough), or ask an Owner for Key Vault "
            "Secrets Officer on the secret."]
        return self.item(CREATE, "Grant you Key Vault Secrets Officer on this one secret, just long enough to "
                                 "write it (removed afterwards).", problems=problems, data={"model": "rbac"})

    def apply(self, ctx: RunContext, item: PlanItem) -> OperatorAccessOut:
        if not item.writes:
            return OperatorAccessOut(model="", principal_id="", needed=False, temporary=False)
        vault: VaultOut = ctx.output(VaultStep)
        if item.data.get("model") == "access_policy":
            ctx.claim(self.id, kind="access_policy", id=vault.id, origin="created", step=self.id,
                      data={"object_id": ctx.operator.object_id, "tenant_id": ctx.operator.tenant_id,
                            "permissions": ["set"]})
            ctx.clients.keyvault.vaults.update_access_policy(
                ctx.spec.vault_group, ctx.spec.vault.name, "add", _operator_policy(ctx))
            return OperatorAccessOut(model="access_policy", principal_id=ctx.operator.object_id,
                                     permissions=["set"])
        ctx.say(self.id, "Granting you Key Vault Secrets Officer on the secret (temporary)")
        made = assign_role(ctx, self.id, scope=secret_scope(vault.id, ctx.spec.secret.name),
                           role=roles.SECRETS_OFFICER, principal_id=ctx.operator.object_id,
                           principal_type=ctx.operator.principal_type, key=self.id)
        return OperatorAccessOut(**vars(made))


def _operator_policy(ctx: RunContext) -> dict[str, Any]:
    return {"properties": {"accessPolicies": [{"tenantId": ctx.operator.tenant_id, "objectId": ctx.operator.object_id,
                                               "permissions": {"secrets": ["set"]}}]}}


def remove_temporary_access(ctx: RunContext) -> None:
    """Take back what this step granted, once the secret is written (recorded, so a resume does it too)."""
    record = ctx.state.step(OperatorAccessStep.id)
    out = record.outputs
    if not out.get("temporary") or out.get("removed"):
        return
    if out.get("model") == "access_policy":
        ctx.clients.keyvault.vaults.update_access_policy(ctx.spec.vault_group, ctx.spec.vault.name, "remove",
                                                         _operator_policy(ctx))
    else:
        try:
            ctx.clients.authorization.role_assignments.delete(out["scope"], out["assignment_name"])
        except ResourceNotFoundError:
            pass  # already gone
    ctx.say("secret", "Removed your temporary access")
    with ctx.state_lock:
        record.outputs = {**out, "removed": True}
        ctx.state.provenance.pop(OperatorAccessStep.id, None)  # nothing of it is left to tear down
        ctx.save()
