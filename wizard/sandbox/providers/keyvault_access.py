"""Who may do what on a vault's data plane: Azure RBAC dataActions on RBAC vaults, access policies otherwise;
and the management operation that edits access policies (PUT .../accessPolicies/{add|replace|remove}).

An RBAC vault ignores its access policies entirely, and Owner or Contributor grant no dataActions: both are
real surprises the wizard has to explain. Grants and policy changes reach the data plane only after the
propagation delay (`realism.rbac_propagation_s`, or while a test holds `rbac_propagation`); until then the
caller gets Azure's 403.
"""

from __future__ import annotations

from typing import Any

from ..authz import Propagating, permitted
from ..router import ArmError, Request, Response, router
from .keyvault_mgmt import (
    BASE,
    MAX_ACCESS_POLICIES,
    VAULT_TYPE,
    live_vault,
    name_record,
    note_policy_changes,
    require_vault,
    secret_permissions,
    store_vault,
    validated_policies,
)

SECRETS = "Microsoft.KeyVault/vaults/secrets/"
# operation -> (RBAC dataAction, access-policy secret permission)
OPERATIONS = {
    "get": (SECRETS + "getSecret/action", "get"),
    "set": (SECRETS + "setSecret/action", "set"),
    "list": (SECRETS + "readMetadata/action", "list"),
    "update": (SECRETS + "update/action", "set"),
    "delete": (SECRETS + "delete", "delete"),
    "get_deleted": (SECRETS + "readMetadata/action", "get"),
    "list_deleted": (SECRETS + "readMetadata/action", "list"),
    "recover": (SECRETS + "recover/action", "recover"),
    "purge": (SECRETS + "purge/action", "purge"),
}


def vault_for_request(sb, req: Request) -> dict[str, Any]:
    """The live vault this data-plane listener serves, or Key Vault's 404 VaultNotFound."""
    name = req.context["vault"]
    vault = live_vault(sb, name)
    if vault is not None:
        return vault
    record = name_record(sb, name)
    if record is not None and record["state"] == "deleted":
        raise ArmError(404, "VaultNotFound", f"Azure Key Vault '{record['name']}' has been soft deleted. Operations "
                       "on this vault can be performed only after recovering it. For recovery instructions see "
                       "https://go.microsoft.com/fwlink/?linkid=2125182")
    raise ArmError(404, "VaultNotFound", f"Azure Key Vault '{name}' does not exist.")


def _caller(req: Request) -> str:
    p = req.principal
    return f"appid={p.app_id};oid={p.object_id};iss={p.claims.get('iss', '')}"


def _propagating(sb, object_id: str) -> Propagating:
    """Whether a grant to `object_id` made at a given time has yet to reach the data plane."""
    def propagating(created: float, observe: bool) -> bool:
        return sb.realism.pending("rbac_propagation", created, sb.realism.rbac_propagation_s, key=object_id,
                                  observe=observe)
    return propagating


def _policy_permissions(sb, vault: dict[str, Any], object_id: str) -> list[str]:
    """The caller's effective secret permissions: the previous ones while a change is still propagating."""
    oid = object_id.lower()
    change = vault.get("_sandbox", {}).get("policyChanges", {}).get(oid)
    if change is not None and _propagating(sb, oid)(change["at"], True):
        return change["before"]
    return secret_permissions(vault["properties"]["accessPolicies"]).get(oid, [])


def authorize(sb, req: Request, vault: dict[str, Any], operation: str, secret_name: str | None = None) -> None:
    """Raise Key Vault's 403 unless the caller may do `operation` (on `secret_name`, or on the vault)."""
    action, permission = OPERATIONS[operation]
    principal = req.principal
    location = f"{vault['name']};location={vault['location']}"
    if vault["properties"].get("enableRbacAuthorization"):
        resource = vault["id"] + (f"/secrets/{secret_name}" if secret_name else "")
        if permitted(sb.store, principal.object_id, action, resource, data=True,
                     propagating=_propagating(sb, principal.object_id)) is None:
            raise ArmError(403, "Forbidden",
                           "Caller is not authorized to perform action on resource.\r\nIf role assignments, deny "
                           "assignments or role definitions were changed recently, please observe propagation "
                           f"time.\r\nCaller: {_caller(req)}\r\nAction: '{action}'\r\nResource: '{resource.lower()}'"
                           "\r\nAssignment: (not found)\r\nDenyAssignmentId: null\r\nDecisionReason: "
                           f"'DeniedWithNoValidRBAC' \r\nVault: {location}\r\n",
                           innererror={"code": "ForbiddenByRbac"})
        return
    granted = _policy_permissions(sb, vault, principal.object_id)
    if permission not in granted and "all" not in granted:
        raise ArmError(403, "Forbidden",
                       f"The user, group or application '{_caller(req)}' does not have secrets {permission} "
                       f"permission on key vault '{location}'. For help resolving this issue, please see "
                       "https://go.microsoft.com/fwlink/?linkid=2125287",
                       innererror={"code": "AccessDenied"})


# ---- access policies --------------------------------------------------------------------------------------
def _merge(entry: dict[str, Any], change: dict[str, Any], kind: str) -> dict[str, Any]:
    """An existing entry after `add` (union), `replace` (the new permissions) or `remove` (difference)."""
    if kind == "replace":
        return dict(entry, permissions={k: list(v) for k, v in change["permissions"].items() if v})
    perms: dict[str, list[str]] = {k: list(v) for k, v in entry["permissions"].items()}
    for key, values in change["permissions"].items():
        current = perms.get(key, [])
        if kind == "add":
            perms[key] = current + [v for v in values if v.lower() not in {c.lower() for c in current}]
        else:
            perms[key] = [c for c in current if c.lower() not in {v.lower() for v in values}]
    return dict(entry, permissions={k: v for k, v in perms.items() if v})


@router.route("PUT", BASE + "/{name}/accessPolicies/{kind}", operation="arm_write",
              action=VAULT_TYPE + "/accessPolicies/write")
def update_access_policy(sb, req: Request) -> Response:
    kind = req.params["kind"].lower()
    if kind not in ("add", "replace", "remove"):
        raise ArmError(400, "BadRequest", f"The operation kind '{req.params['kind']}' is not valid: use add, replace "
                       "or remove.")
    props = req.json_object().get("properties")
    if not isinstance(props, dict):
        raise ArmError(400, "BadRequest", "The 'properties.accessPolicies' array is required.")
    changes = validated_policies(sb, props.get("accessPolicies"))
    with sb.store.transaction():
        vault = require_vault(sb, req)
        old = vault["properties"]["accessPolicies"]
        new = [dict(e) for e in old]
        for change in changes:
            key = (change["objectId"].lower(), (change.get("applicationId") or "").lower())
            at = next((i for i, e in enumerate(new)
                       if (e["objectId"].lower(), (e.get("applicationId") or "").lower()) == key), None)
            if at is None:
                if kind != "remove":
                    new.append(change)
                continue
            merged = _merge(new[at], change, kind)
            if kind == "remove" and (not merged["permissions"] or not any(change["permissions"].values())):
                del new[at]
            else:
                new[at] = merged
        if len(new) > MAX_ACCESS_POLICIES:
            raise ArmError(400, "BadRequest", f"A vault can have at most {MAX_ACCESS_POLICIES} access policies.")
        note_policy_changes(sb, vault, old, new)
        vault["properties"]["accessPolicies"] = new
        store_vault(sb, vault)
    return Response(200, {"id": vault["id"] + "/accessPolicies/", "type": VAULT_TYPE + "/accessPolicies",
                          "properties": {"accessPolicies": new}})
