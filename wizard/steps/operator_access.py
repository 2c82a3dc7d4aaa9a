"""Give the signed-in operator just enough Key Vault access to write the secret, when they lack it.

On an RBAC vault an Owner has no data access at all: Owner and Contributor carry no dataActions.
"""

from __future__ import annotations

from typing import Any

from ..azure import roles
from ..azure.access import grants_for
from .base import CREATE, NOTHING, PlanItem, RunContext, Step
from .grant import assign_role, can_assign_roles, policy_allows
from .secret import secret_needs_write
from .vault import access_model, read_vault


class OperatorAccessStep(Step):
    id = "operator_access"
    title = "Your access to write the secret"
    requires = ("vault",)

    def refresh(self, ctx: RunContext) -> dict[str, Any]:
        vault = read_vault(ctx)
        observed: dict[str, Any] = {"vault": vault, "needed": secret_needs_write(ctx)}
        if not observed["needed"]:
            return observed
        scope = self.vault_scope(ctx, vault)
        if vault is None or access_model(vault) == "rbac":
            lookup = scope if vault is not None else self.existing_parent_scope(ctx)
            observed["grants"] = [g for g in grants_for(ctx.clients, ctx.operator.object_id, roles.SET_SECRET,
                                                        lookup, data=True, reads=ctx.read)
                                  ] if lookup else []
            observed["can_assign"] = can_assign_roles(ctx, scope)
        else:
            observed["policy_ok"] = policy_allows(vault, ctx.operator.object_id, ["set"])
        return observed

    @staticmethod
    def vault_scope(ctx: RunContext, vault: Any) -> str:
        if vault is not None:
            return vault.id
        return (f"/subscriptions/{ctx.subscription_id}/resourceGroups/{ctx.spec.vault_group}/providers/"
                f"Microsoft.KeyVault/vaults/{ctx.spec.vault.name}")

    @staticmethod
    def existing_parent_scope(ctx: RunContext) -> str:
        group_exists = ctx.reads.get(f"rg:{ctx.spec.vault_group.lower()}") is not None
        return (f"/subscriptions/{ctx.subscription_id}/resourceGroups/{ctx.spec.vault_group}" if group_exists
                else f"/subscriptions/{ctx.subscription_id}")

    def plan(self, ctx: RunContext, observed: dict[str, Any]) -> PlanItem:
        if not observed["needed"]:
            return self.item(NOTHING, "The secret exists and is kept: you need no data access.")
        vault = observed["vault"]
        if vault is not None and access_model(vault) == "access_policy":
            if observed["policy_ok"]:
                return self.item(NOTHING, "Your access policy already lets you set secrets.")
            return self.item(CREATE, "Add an access policy that lets you (secrets: set) write the secret.",
                             data={"model": "access_policy"})
        if observed["grants"]:
            g = observed["grants"][0]
            return self.item(NOTHING, f"You can already write secrets here ({g.role_name} at {g.scope}).")
        problems = [] if observed["can_assign"] else [
            f"operator access: you ({ctx.operator.display}) need to write the secret but hold no Key Vault data role, "
            f"and you may not assign roles (missing {roles.ROLE_ASSIGNMENTS_WRITE}). Ask an Owner or User Access "
            "Administrator to grant you Key Vault Secrets Officer on the vault, or to run mi-wizard."]
        return self.item(CREATE, "Grant you Key Vault Secrets Officer on this vault so you can write the secret "
                                 "(Owner and Contributor cannot read or write secrets on an RBAC vault).",
                         problems=problems, data={"model": "rbac"})

    def apply(self, ctx: RunContext, item: PlanItem) -> dict[str, Any]:
        if not item.writes:
            return {"needed": False}
        vault = ctx.outputs("vault")
        if item.data.get("model") == "access_policy":
            ctx.clients.keyvault.vaults.update_access_policy(
                ctx.spec.vault_group, ctx.spec.vault.name, "add",
                {"properties": {"accessPolicies": [{"tenantId": ctx.operator.tenant_id,
                                                    "objectId": ctx.operator.object_id,
                                                    "permissions": {"secrets": ["set"]}}]}})
            return {"model": "access_policy", "principal_id": ctx.operator.object_id}
        ctx.say(self.id, "Granting you Key Vault Secrets Officer on the vault")
        return assign_role(ctx, self.id, scope=vault["id"], role=roles.SECRETS_OFFICER,
                           principal_id=ctx.operator.object_id, principal_type=ctx.operator.principal_type)
