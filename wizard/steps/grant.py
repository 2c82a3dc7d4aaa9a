"""Let the identity read the secret: Key Vault Secrets User at secret scope (default) or vault scope on an
RBAC vault; a `get` access policy on an access-policy vault. Role assignments get deterministic names and
principalType, and PrincipalNotFound (a new identity not yet replicated) is waited out."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field, replace
from typing import Any

from azure.core.exceptions import ResourceExistsError
from azure.mgmt.core.tools import parse_resource_id, resource_id

from ..azure import roles
from ..azure.access import Grant, grants_for
from ..azure.errors import error_code
from ..waits import wait_for
from .base import ADOPT, CREATE, NOTHING, UPDATE, PlanItem, RunContext, Step, assignment_name
from .identity import IdentityOut, IdentityStep, read_identity
from .vault import VaultOut, VaultStep, access_model, planned_model, read_vault, vault_id


@dataclass(frozen=True)
class GrantOut:
    """A grant as recorded: a role assignment (model "rbac") or an access policy (model "access_policy")."""

    model: str
    principal_id: str
    granted_at: float | None = None
    """When mi-wizard granted it (propagation is judged from it); None for one found in place."""
    assignment_id: str = ""
    assignment_name: str = ""
    scope: str = ""
    role: str = ""
    permissions: list[str] = field(default_factory=list)
    """An access policy's secret permissions."""


@dataclass(frozen=True)
class GrantSeen:
    identity: Any
    vault: Any
    """The SDK's Identity and Vault, or None where there is none yet."""
    model: str
    """The vault's access model: rbac or access_policy (the planned one for a new vault)."""
    scope: str = ""
    grants: list[Grant] = field(default_factory=list)
    """Role assignments that already let the identity read the secret."""
    can_assign: bool = True
    policy_ok: bool = False


def can_assign_roles(ctx: RunContext, scope: str) -> bool:
    """May the operator assign roles at `scope`? A scope that does not exist yet is judged at its closest
    existing parent (the vault's group, or the subscription when the plan creates the group too)."""
    lookup = scope
    if ctx.plan_creates("vault") or read_vault(ctx) is None:
        lookup = (resource_id(subscription=ctx.subscription_id) if ctx.group_created(ctx.spec.vault_group) else
                  resource_id(subscription=ctx.subscription_id, resource_group=ctx.spec.vault_group))
    allowed = grants_for(ctx.clients, ctx.operator.object_id, roles.ROLE_ASSIGNMENTS_WRITE, lookup, data=False,
                         reads=ctx.read)
    return bool(allowed)


def policy_allows(vault: Any, object_id: str, permissions: list[str]) -> bool:
    for policy in vault.properties.access_policies or []:
        if policy.object_id.lower() == object_id.lower():
            granted = {p.lower() for p in (policy.permissions.secrets or [])}
            if "all" in granted or all(p in granted for p in permissions):
                return True
    return False


def policy_permissions_of(vault: Any, object_id: str) -> list[str]:
    """The secret permissions an access policy of `vault` gives `object_id` (none: [])."""
    return sorted({p.lower() for policy in (vault.properties.access_policies or [])
                   if policy.object_id.lower() == object_id.lower() for p in (policy.permissions.secrets or [])})


def assignment_description(setup: str) -> str:
    return f"Made by mi-wizard for setup {setup}"


def assign_role(ctx: RunContext, step_id: str, *, scope: str, role: roles.Role, principal_id: str,
                principal_type: str, key: str = "") -> GrantOut:
    """Create (or find) the role assignment; wait out PrincipalNotFound for a brand-new identity. `key` names its
    provenance record: claimed as created before the write; adopted when the grant was there under another name."""
    name = assignment_name(scope, principal_id, role.guid)
    body = {"properties": {"roleDefinitionId": role.definition_id(ctx.subscription_id), "principalId": principal_id,
                           "principalType": principal_type, "description": assignment_description(ctx.spec.name)}}
    assignments = ctx.clients.authorization.role_assignments
    key = key or step_id
    ctx.claim(key, kind="role_assignment", id=f"{scope}/providers/Microsoft.Authorization/roleAssignments/{name}",
              origin="created", step=step_id, data={"role": role.name, "principal_id": principal_id})

    def create() -> Any:
        return assignments.create(scope, name, body)

    try:
        created = wait_for(create, retry_if=lambda e: error_code(e) == "PrincipalNotFound", step=step_id,
                           reason="the new identity to replicate in the directory (PrincipalNotFound)",
                           sink=ctx.sink, cancel=ctx.cancel, limit_s=300)
        assignment_id, assignment = created.id, created.name
    except ResourceExistsError as err:
        # The same grant exists under another name (made by hand or by another tool): that is success.
        existing = re.search(r"([0-9a-f]{32})", str(err))
        assignment = existing.group(1) if existing else ""
        if assignment:
            assignment = f"{assignment[:8]}-{assignment[8:12]}-{assignment[12:16]}-{assignment[16:20]}-{assignment[20:]}"
        # An extension resource on any scope (resource_id() builds ids under a group or subscription only).
        assignment_id = f"{scope}/providers/Microsoft.Authorization/roleAssignments/{assignment}"
        ctx.say(step_id, f"{role.name} was already assigned at this scope")
        with ctx.state_lock:  # not made here: it was there under another name
            ctx.state.provenance.pop(key, None)
        ctx.claim(key, kind="role_assignment", id=assignment_id, origin="adopted", step=step_id,
                  data={"role": role.name, "principal_id": principal_id})
    return GrantOut(model="rbac", assignment_id=assignment_id, assignment_name=assignment, scope=scope,
                    role=role.name, principal_id=principal_id, granted_at=time.time())


def secret_scope(vault_id: str, secret_name: str) -> str:
    vault = {key: str(value) for key, value in parse_resource_id(vault_id).items()}
    return str(resource_id(subscription=vault["subscription"], resource_group=vault["resource_group"],
                           namespace=vault["namespace"], type=vault["type"], name=vault["name"],
                           child_type_1="secrets", child_name_1=secret_name))


class GrantStep(Step):
    id = "grant"
    title = "Read access for the identity"
    Outputs = GrantOut
    requires = ("identity", "vault", "secret")

    def requires_for(self, spec: Any) -> tuple[str, ...]:
        # A grant at the secret's scope names the secret as its scope, so the secret is written first (an ARM PUT
        # of about a second); a grant on the whole vault needs only the vault.
        return self.requires if spec.grant.scope == "secret" else ("identity", "vault")

    def refresh(self, ctx: RunContext) -> GrantSeen:
        identity = None if ctx.plan_creates("identity") else read_identity(ctx)
        vault = None if ctx.plan_creates("vault") else read_vault(ctx)
        model = access_model(vault) if vault is not None else planned_model(ctx)
        if model != "rbac":
            return GrantSeen(identity, vault, model, policy_ok=identity is not None and vault is not None and
                             policy_allows(vault, identity.principal_id, self.policy_permissions(ctx)))
        scope = self.scope(ctx, vault)
        grants = (grants_for(ctx.clients, identity.principal_id, roles.GET_SECRET,
                             secret_scope(vault.id, ctx.spec.secret.name), data=True, reads=ctx.read)
                  if identity is not None and vault is not None else [])
        return GrantSeen(identity, vault, model, scope=scope, grants=grants,
                         can_assign=can_assign_roles(ctx, scope) if not grants else True)

    @staticmethod
    def policy_permissions(ctx: RunContext) -> list[str]:
        return ["get", "list"] if ctx.spec.grant.allow_list else ["get"]

    def scope(self, ctx: RunContext, vault: Any) -> str:
        vid = vault_id(ctx, vault)
        return secret_scope(vid, ctx.spec.secret.name) if ctx.spec.grant.scope == "secret" else vid

    def plan(self, ctx: RunContext, observed: GrantSeen) -> PlanItem:
        who = ctx.spec.identity.name
        if observed.model == "access_policy":
            perms = self.policy_permissions(ctx)
            if observed.policy_ok:
                existing = GrantOut(model="access_policy", permissions=perms,
                                    principal_id=observed.identity.principal_id)
                return self.item(NOTHING, f"{who} already has an access policy with secrets: {', '.join(perms)}.",
                                 data={"existing": existing})
            had = (policy_permissions_of(observed.vault, observed.identity.principal_id)
                   if observed.vault is not None and observed.identity is not None else [])
            return self.item(UPDATE, f"Add an access policy for {who} with secrets: {', '.join(perms)} (access "
                                     "policies cover the whole vault).", data={"model": "access_policy", "had": had})
        where = "this one secret" if ctx.spec.grant.scope == "secret" else "every secret in the vault"
        grants = observed.grants
        if grants:
            mine = [g for g in grants if g.assignment_name == assignment_name(
                observed.scope, observed.identity.principal_id, roles.SECRETS_USER.guid)]
            g = (mine or grants)[0]
            details = [] if g.role_guid == roles.SECRETS_USER.guid else [
                f"{who} holds {g.role_name} at {g.scope}: broader than reading one secret needs. Consider replacing "
                "it with Key Vault Secrets User on the secret."]
            existing = GrantOut(model="rbac", assignment_id=g.assignment_id, assignment_name=g.assignment_name,
                                scope=g.scope, role=g.role_name, principal_id=observed.identity.principal_id,
                                granted_at=g.created_on.timestamp() if g.created_on else None)
            return self.item(NOTHING if mine else ADOPT, f"{who} can already read the secret ({g.role_name} at "
                                                         f"{g.scope}).", details=details, data={"existing": existing})
        problems = [] if observed.can_assign else [
            f"grant: you ({ctx.operator.display}) may not assign roles at {observed.scope} (missing "
            f"{roles.ROLE_ASSIGNMENTS_WRITE}). Ask an Owner, User Access Administrator or Role Based Access Control "
            "Administrator of the vault to run mi-wizard, or to grant you one of those roles there."]
        return self.item(CREATE, f"Grant {who} Key Vault Secrets User on {where}: it can read secret values and "
                                 "nothing else (least privilege).", problems=problems,
                         data={"model": "rbac", "scope": observed.scope})

    def apply(self, ctx: RunContext, item: PlanItem) -> GrantOut:
        if not item.writes:
            previous = ctx.state.step(self.id).outputs
            existing: GrantOut = item.data["existing"]
            if existing.model == "rbac":
                ctx.claim(self.id, kind="role_assignment", id=existing.assignment_id, origin="adopted", step=self.id,
                          data={"role": existing.role, "principal_id": existing.principal_id})
            else:
                ctx.claim(self.id, kind="access_policy", id=vault_id(ctx), origin="adopted", step=self.id,
                          data={"object_id": existing.principal_id, "permissions": existing.permissions})
            if previous.get("granted_at") and previous.get("principal_id") == existing.principal_id:
                existing = replace(existing, granted_at=previous["granted_at"])  # when we granted it: propagation
            return existing
        identity: IdentityOut = ctx.output(IdentityStep)
        vault: VaultOut = ctx.output(VaultStep)
        if item.data.get("model") == "access_policy" or vault.access_model == "access_policy":
            perms = self.policy_permissions(ctx)
            had = set(item.data.get("had", []))
            ctx.claim(self.id, kind="access_policy", id=vault.id, origin="created", step=self.id,
                      data={"object_id": identity.principal_id, "tenant_id": identity.tenant_id,
                            "permissions": [p for p in perms if p not in had]})
            ctx.clients.keyvault.vaults.update_access_policy(
                ctx.spec.vault_group, ctx.spec.vault.name, "add",
                {"properties": {"accessPolicies": [{"tenantId": identity.tenant_id,
                                                    "objectId": identity.principal_id,
                                                    "permissions": {"secrets": perms}}]}})
            return GrantOut(model="access_policy", permissions=perms, principal_id=identity.principal_id,
                            granted_at=time.time())
        scope = (secret_scope(vault.id, ctx.spec.secret.name) if ctx.spec.grant.scope == "secret" else vault.id)
        ctx.say(self.id, f"Granting Key Vault Secrets User to {ctx.spec.identity.name}")
        return assign_role(ctx, self.id, scope=scope, role=roles.SECRETS_USER, principal_id=identity.principal_id,
                           principal_type="ServicePrincipal")


