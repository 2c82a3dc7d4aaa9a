"""Create (RBAC by default) or adopt the Key Vault; handle names taken elsewhere and soft-deleted names."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from azure.mgmt.core.tools import resource_id

from ..azure.vault_names import VaultNameStatus, vault_name_status
from .base import ADOPT, CREATE, NOTHING, RECOVER, PlanItem, RunContext, Step, not_found_is_none, origin_of
from .lro import run_lro


def read_vault(ctx: RunContext) -> Any:
    spec = ctx.spec
    return ctx.read(f"vault:{spec.vault_group.lower()}/{spec.vault.name.lower()}", lambda: not_found_is_none(
        lambda: ctx.clients.keyvault.vaults.get(spec.vault_group, spec.vault.name)))


def vault_id(ctx: RunContext, vault: Any = None) -> str:
    """The vault's resource id: read, or the one it will have once created."""
    if vault is not None:
        return str(vault.id)
    return resource_id(subscription=ctx.subscription_id, resource_group=ctx.spec.vault_group,
                       namespace="Microsoft.KeyVault", type="vaults", name=ctx.spec.vault.name)


def planned_model(ctx: RunContext) -> str:
    """The access model the vault has, or will have: a recovered vault keeps its own, a new one the spec's."""
    item = ctx.planned.get("vault")
    if item is not None and item.data.get("model"):
        return str(item.data["model"])
    return ctx.spec.vault.access_model


def access_model(vault: Any) -> str:
    # Vaults created before API 2026-02-01 may carry null: that means access policies.
    return "rbac" if vault.properties.enable_rbac_authorization else "access_policy"


@dataclass(frozen=True)
class VaultOut:
    """What the vault step hands the steps after it (and records in the state)."""

    id: str
    name: str
    vault_uri: str
    access_model: str
    location: str
    purge_protection: bool


def vault_outputs(vault: Any) -> VaultOut:
    return VaultOut(id=vault.id, name=vault.name, vault_uri=vault.properties.vault_uri,
                    access_model=access_model(vault), location=vault.location,
                    purge_protection=bool(vault.properties.enable_purge_protection))


class VaultStep(Step):
    id = "vault"
    Outputs = VaultOut
    title = "Key Vault"
    requires = ("resource_group",)

    def refresh(self, ctx: RunContext) -> VaultNameStatus:
        """The vault name's status is the observation: here, elsewhere, soft-deleted, taken or free."""
        spec = ctx.spec
        # A group this run creates holds no vault yet; otherwise the vault is read through the run's cache,
        # which the grant and secret steps read too.
        group = "" if ctx.group_created(spec.vault_group) else spec.vault_group
        status = vault_name_status(ctx.clients, ctx.subscription_id, group, spec.vault.name, spec.location,
                                   read_here=lambda: read_vault(ctx))
        return status

    def plan(self, ctx: RunContext, observed: VaultNameStatus) -> PlanItem:
        spec, name = ctx.spec.vault, ctx.spec.vault.name
        status = observed
        if status.kind == "exists_here":
            return self._plan_existing(ctx, status.vault)
        if status.kind == "available":
            model = "Azure RBAC (per-secret least privilege)" if spec.access_model == "rbac" else "access policies"
            return self.item(CREATE, f"Create vault {name} in {ctx.spec.vault_group} using {model}.",
                             details=["Soft delete is always on (90 days); purge protection is "
                                      + ("on." if spec.purge_protection else "off.")],
                             data={"model": spec.access_model})
        if status.kind == "soft_deleted":
            return self._plan_soft_deleted(ctx, status)
        if status.kind == "elsewhere_in_subscription":
            group = status.vault_group
            return self.item(CREATE, "", problems=[
                f"vault.name: {name} already exists in resource group {group} of this subscription. To use it, set "
                f"vault.resource_group = \"{group}\"; otherwise choose another name."])
        if status.kind == "invalid":
            return self.item(CREATE, "", problems=[f"vault.name: {status.message}"])
        suggestions = ", ".join(status.suggestions)
        return self.item(CREATE, "", problems=[
            f"vault.name: VaultAlreadyExists: vault names are global across Azure and {name} is taken by someone "
            f"else. Choose another name, for example: {suggestions}."])

    def _plan_existing(self, ctx: RunContext, vault: Any) -> PlanItem:
        model = access_model(vault)
        recorded = ctx.state.step(self.id).outputs.get("id", "").lower() == vault.id.lower()
        action = NOTHING if recorded else ADOPT
        details, problems = [], []
        if model == "rbac" and ctx.spec.vault.access_model == "access_policy":
            problems.append(f"vault.access_model: {vault.name} uses Azure RBAC, so Key Vault ignores access policies "
                            "on it: a policy would be written and silently never work. Use access_model = \"rbac\" "
                            "(Key Vault Secrets User on the secret).")
        if model == "access_policy":
            details.append(f"{vault.name} uses access policies: the identity gets a 'get' policy, which applies to "
                           "every secret in the vault (policies cannot be limited to one secret).")
        state = (vault.properties.provisioning_state or "Succeeded")
        return self.item(action, f"{vault.name} exists ({'Azure RBAC' if model == 'rbac' else 'access policies'}).",
                         details=details, problems=problems,
                         data={"outputs": vault_outputs(vault), "provisioning": state, "model": model,
                               "origin": ctx.found(vault)})

    def _plan_soft_deleted(self, ctx: RunContext, deleted: VaultNameStatus) -> PlanItem:
        spec, name = ctx.spec.vault, ctx.spec.vault.name
        when = f"deleted on {deleted.deleted_on:%Y-%m-%d}, kept until {deleted.purge_after:%Y-%m-%d}"
        data = {"deleted_location": deleted.deleted_location}
        if spec.if_soft_deleted == "recover":
            return self.item(RECOVER, f"{name} was {when}; it will be recovered with its secrets.", data=data)
        if spec.if_soft_deleted == "purge":
            if deleted.purge_protection:
                return self.item(CREATE, "", problems=[
                    f"vault.if_soft_deleted: {name} is purge-protected, so it cannot be purged before "
                    f"{deleted.purge_after:%Y-%m-%d}. Recover it (if_soft_deleted = \"recover\") or choose "
                    "another name."])
            if not spec.confirm_purge:
                return self.item(CREATE, "", problems=[
                    f"vault.confirm_purge: purging {name} destroys its secrets for good. Set confirm_purge = true to "
                    "do it, or recover it instead."])
            return self.item(CREATE, f"{name} was {when}; it will be PURGED (its secrets are destroyed) and created "
                                     "again.", data={**data, "purge": True})
        return self.item(CREATE, "", problems=[
            f"vault.name: {name} is held by a soft-deleted vault ({when}). Choose: recover it "
            "(if_soft_deleted = \"recover\"), use another name, or purge it (if_soft_deleted = \"purge\" and "
            "confirm_purge = true)."])

    def apply(self, ctx: RunContext, item: PlanItem) -> VaultOut:
        spec = ctx.spec
        vaults = ctx.clients.keyvault.vaults
        ctx.claim(self.id, kind="vault", id=vault_id(ctx), origin=item.data.get("origin") or origin_of(item.action),
                  step=self.id)
        if "outputs" in item.data and item.data.get("provisioning") in (None, "Succeeded"):
            return item.data["outputs"]  # type: ignore[no-any-return]
        # A new vault, or one still provisioning: the create (an idempotent PUT) runs until it settles.
        if item.data.get("purge"):
            ctx.say(self.id, f"Purging the soft-deleted vault {spec.vault.name}")
            run_lro(ctx, self.id, "vault_purge",
                    lambda **kw: vaults.begin_purge_deleted(spec.vault.name, item.data["deleted_location"], **kw))
        body = self._create_body(ctx, recover=item.action == RECOVER, location=item.data.get("deleted_location"))
        ctx.say(self.id, ("Recovering" if item.action == RECOVER else "Creating") + f" vault {spec.vault.name}")
        vault = run_lro(ctx, self.id, "vault_create",
                        lambda **kw: vaults.begin_create_or_update(spec.vault_group, spec.vault.name, body, **kw))
        ctx.reads.put(f"vault:{spec.vault_group.lower()}/{spec.vault.name.lower()}", vault)  # as Azure answered
        return vault_outputs(vault)

    def _create_body(self, ctx: RunContext, *, recover: bool, location: str | None) -> dict[str, Any]:
        spec = ctx.spec.vault
        properties: dict[str, Any] = {"tenantId": ctx.operator.tenant_id, "sku": {"family": "A", "name": spec.sku}}
        if recover:
            properties["createMode"] = "recover"
        else:
            # Explicit, never left to the api-version default: older API versions default to access policies.
            properties["enableRbacAuthorization"] = spec.access_model == "rbac"
            properties["accessPolicies"] = []
            if spec.purge_protection:
                properties["enablePurgeProtection"] = True
        return {"location": location or ctx.spec.location, "tags": ctx.tags,
                "properties": properties}


