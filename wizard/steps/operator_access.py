"""Only for `vault.secret_write = "data_plane"`: give the signed-in operator temporary access to write the
one secret through the vault's data plane, and take it away once the secret is written.

The default ARM write needs none of this (Owner and Contributor hold `vaults/secrets/write`). On an RBAC vault
an Owner has no data access at all, so the data-plane write needs Key Vault Secrets Officer, granted here on the
one secret; on an access-policy vault, a policy with secrets `set`. No standing grant is left behind.
"""

from __future__ import annotations

from typing import Any

from azure.core.exceptions import ResourceNotFoundError

from ..azure import roles
from ..azure.access import grants_for
from .base import CREATE, NOTHING, PlanItem, RunContext, Step
from .grant import assign_role, can_assign_roles, policy_allows, secret_scope
from .secret import secret_needs_write
from .vault import VaultOut, VaultStep, access_model, planned_model, read_vault, vault_id


class OperatorAccessStep(Step):
    id = "operator_access"
    title = "Your temporary access to write the secret"
    requires = ("vault",)

    def applies(self, spec: Any) -> bool:
        return bool(spec.uses_vault and spec.vault.secret_write == "data_plane")

    def refresh(self, ctx: RunContext) -> dict[str, Any]:
        vault = None if ctx.plan_creates("vault") else read_vault(ctx)
        observed: dict[str, Any] = {"vault": vault, "needed": secret_needs_write(ctx)}
        if not observed["needed"]:
            return observed
        model = access_model(vault) if vault is not None else planned_model(ctx)
        observed["model"] = model
        scope = secret_scope(vault_id(ctx, vault), ctx.spec.secret.name)
        if model == "rbac":
            observed["grants"] = [] if vault is None else grants_for(
                ctx.clients, ctx.operator.object_id, roles.SET_SECRET, scope, data=True, reads=ctx.read)
            observed["can_assign"] = can_assign_roles(ctx, scope)
        else:
            observed["policy_ok"] = vault is not None and policy_allows(vault, ctx.operator.object_id, ["set"])
        return observed

    def plan(self, ctx: RunContext, observed: dict[str, Any]) -> PlanItem:
        if not observed["needed"]:
            return self.item(NOTHING, "The secret exists and is kept: you need no data access.")
        if observed["model"] == "access_policy":
            if observed["policy_ok"]:
                return self.item(NOTHING, "Your access policy already lets you set secrets.")
            return self.item(CREATE, "Add an access policy that lets you (secrets: set) write the secret; it is "
                                     "removed once the secret is written.", data={"model": "access_policy"})
        if observed["grants"]:
            g = observed["grants"][0]
            return self.item(NOTHING, f"You can already write secrets here ({g.role_name} at {g.scope}).")
        problems = [] if observed["can_assign"] else [
            f"operator access: you ({ctx.operator.display}) need to write the secret through the data plane but hold "
            f"no Key Vault data role, and you may not assign roles (missing {roles.ROLE_ASSIGNMENTS_WRITE}). Use "
            "the default vault.secret_write = \"arm\" (Contributor is enough), or ask an Owner for Key Vault "
            "Secrets Officer on the secret."]
        return self.item(CREATE, "Grant you Key Vault Secrets Officer on this one secret, just long enough to "
                                 "write it (removed afterwards).", problems=problems, data={"model": "rbac"})

    def apply(self, ctx: RunContext, item: PlanItem) -> dict[str, Any]:
        if not item.writes:
            return {"needed": False}
        vault: VaultOut = ctx.output(VaultStep)
        if item.data.get("model") == "access_policy":
            ctx.clients.keyvault.vaults.update_access_policy(
                ctx.spec.vault_group, ctx.spec.vault.name, "add", _operator_policy(ctx))
            return {"model": "access_policy", "principal_id": ctx.operator.object_id, "temporary": True}
        ctx.say(self.id, "Granting you Key Vault Secrets Officer on the secret (temporary)")
        out = assign_role(ctx, self.id, scope=secret_scope(vault.id, ctx.spec.secret.name),
                          role=roles.SECRETS_OFFICER, principal_id=ctx.operator.object_id,
                          principal_type=ctx.operator.principal_type)
        return {**out, "temporary": True}


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
    record.outputs = {**out, "removed": True}
    ctx.save()
