"""Microsoft.KeyVault vaults, management plane: create (LRO), get, list, update, soft delete and name checks.
Deleted vaults (get, list, purge, recover) are in keyvault_deleted.py, the access-policy operation and the
data-plane authorization in keyvault_access.py, secrets in keyvault_data.py.

Vault names are global across the sandbox, as in Azure. A name index (kind VAULT_NAME) records every name in
use: a live vault (with its ARM id and a copy of its body), a soft-deleted one, or a name taken in another
tenant. The data plane finds a vault's ARM id, tenant, access model and access policies through it.
"""

from __future__ import annotations

import re
import time
from typing import Any

from .. import lro
from ..arm import (
    get,
    list_children,
    list_in_subscription,
    now_iso,
    page,
    provider_id,
    public,
    put,
    require_location,
    require_resource_group,
    require_tags,
)
from ..router import ArmError, Request, Response, not_found, router

VAULT_TYPE = "Microsoft.KeyVault/vaults"
VAULT_NAME = "vault_name"
SECRET = "kv_secret"
"""Secrets are stored per vault name (parent), so they outlive a soft delete and go with a purge."""
BASE = "/subscriptions/{sub}/resourcegroups/{rg}/providers/Microsoft.KeyVault/vaults"
RBAC_DEFAULT_SINCE = "2026-02-01"
"""Vaults created with this api-version or later default to RBAC when enableRbacAuthorization is omitted."""
MAX_ACCESS_POLICIES = 1024
_NAME = re.compile(r"^[a-zA-Z][a-zA-Z0-9-]{1,22}[a-zA-Z0-9]$")
_GUID = re.compile(r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")


# ---- names ------------------------------------------------------------------------------------------------
def valid_vault_name(name: str) -> bool:
    return bool(_NAME.match(name)) and "--" not in name


def name_not_valid(name: str) -> ArmError:
    return ArmError(400, "VaultNameNotValid",
                    f"The vault name '{name}' is invalid. A vault's name must be between 3-24 alphanumeric "
                    "characters. The name must begin with a letter, end with a letter or digit, and not contain "
                    "consecutive hyphens. Follow this link for more information: "
                    "https://go.microsoft.com/fwlink/?linkid=2147742")


def vault_already_exists(name: str) -> ArmError:
    return ArmError(409, "VaultAlreadyExists",
                    f"The vault name '{name}' is already in use. Vault names are globally unique so it is possible "
                    "that the name is already taken. If you are sure that the vault name was not taken then it is "
                    "possible that a vault with the same name was recently deleted but not purged after being "
                    "placed in a recoverable state. If the vault is in a recoverable state then the vault will need "
                    "to be purged before reusing the name. For more information about VaultAlreadyExists, soft "
                    "delete and purging a vault follow this link https://go.microsoft.com/fwlink/?linkid=2147740.")


DELETED_STATE_MESSAGE = ("A vault with the same name already exists in deleted state. You need to either recover or "
                         "purge existing key vault. Follow this link https://go.microsoft.com/fwlink/?linkid=2149745 "
                         "for more information on soft delete.")


def name_record(sb, name: str) -> dict[str, Any] | None:
    """The index entry for `name` (live, deleted or elsewhere), after catching up with what happened to it."""
    from .keyvault_deleted import catch_up
    return catch_up(sb, sb.store.get(VAULT_NAME, name))


def index_live(sb, vault: dict[str, Any]) -> None:
    sub = vault["id"].split("/")[2]
    sb.store.put(VAULT_NAME, vault["name"], {"name": vault["name"], "state": "live", "id": vault["id"],
                                             "subscription": sub, "location": vault["location"], "snapshot": vault})


def take_vault_name_elsewhere(sb, name: str) -> None:
    """Mark `name` as used by a vault in another tenant: creates get 409 VaultAlreadyExists, checks AlreadyExists."""
    sb.store.put(VAULT_NAME, name, {"name": name, "state": "elsewhere"})


def live_vault(sb, name: str) -> dict[str, Any] | None:
    """The stored ARM body of the live vault called `name` (any subscription), or None."""
    record = name_record(sb, name)
    if record is None or record["state"] != "live":
        return None
    lro.settle(sb, "keyvault_create", record["id"])
    return get(sb, record["id"])


# ---- bodies -----------------------------------------------------------------------------------------------
def validated_policies(sb, policies: Any) -> list[dict[str, Any]]:
    if not isinstance(policies, list):
        raise ArmError(400, "BadRequest", "The 'accessPolicies' property must be an array of access policy entries.")
    if len(policies) > MAX_ACCESS_POLICIES:
        raise ArmError(400, "BadRequest", f"A vault can have at most {MAX_ACCESS_POLICIES} access policies.")
    out = []
    for entry in policies:
        if not isinstance(entry, dict) or not isinstance(entry.get("permissions"), dict):
            raise ArmError(400, "BadRequest", "Each access policy needs tenantId, objectId and permissions.")
        tenant, object_id = entry.get("tenantId"), entry.get("objectId")
        if not isinstance(object_id, str) or not _GUID.match(object_id):
            raise ArmError(400, "BadRequest", f"The access policy objectId '{object_id}' is not a valid GUID.")
        if not isinstance(tenant, str) or tenant.lower() != sb.tenant_id.lower():
            raise ArmError(400, "BadRequest", f"The access policy for '{object_id}' has tenantId '{tenant}', but all "
                           f"identities must use the vault's tenant ID '{sb.tenant_id}'.")
        perms = {k: list(v) for k, v in entry["permissions"].items()
                 if isinstance(v, list) and all(isinstance(p, str) for p in v)}
        clean = {"tenantId": tenant, "objectId": object_id, "permissions": perms}
        if entry.get("applicationId"):
            clean["applicationId"] = entry["applicationId"]
        out.append(clean)
    return out


def secret_permissions(policies: list[dict[str, Any]]) -> dict[str, list[str]]:
    """Secret permissions per lower-case object id (entries without a compound applicationId)."""
    out: dict[str, set[str]] = {}
    for entry in policies:
        if entry.get("applicationId"):
            continue
        out.setdefault(entry["objectId"].lower(), set()).update(p.lower() for p in entry["permissions"].get("secrets", []))
    return {k: sorted(v) for k, v in out.items()}


def note_policy_changes(sb, vault: dict[str, Any], old: list[dict[str, Any]], new: list[dict[str, Any]]) -> None:
    """Remember, per principal, when its secret permissions changed and what they were before: the data plane
    keeps applying the old ones until the propagation delay has passed, as Azure does."""
    now, delay = time.time(), sb.realism.rbac_propagation_s
    before, after = secret_permissions(old), secret_permissions(new)
    changes = vault.setdefault("_sandbox", {}).setdefault("policyChanges", {})
    for oid in set(before) | set(after):
        if before.get(oid, []) == after.get(oid, []):
            continue
        pending = changes.get(oid)
        still_pending = pending is not None and sb.realism.pending("rbac_propagation", pending["at"], delay, key=oid,
                                                                   now=now, observe=False)
        changes[oid] = {"at": now, "before": pending["before"] if still_pending else before.get(oid, [])}


def _validated_properties(sb, props: Any, api_version: str, existing: dict[str, Any] | None) -> dict[str, Any]:
    if not isinstance(props, dict):
        raise ArmError(400, "BadRequest", "The 'properties' object with tenantId and sku is required.")
    tenant = props.get("tenantId")
    if not isinstance(tenant, str) or not _GUID.match(tenant):
        raise ArmError(400, "BadRequest", "The 'properties.tenantId' property must be the GUID of the Microsoft "
                       "Entra tenant that authenticates requests to the vault.")
    if tenant.lower() != sb.tenant_id.lower():
        raise ArmError(400, "BadRequest", f"The tenant '{tenant}' is not the tenant of this subscription "
                       f"('{sb.tenant_id}').")
    sku = props.get("sku")
    if not isinstance(sku, dict) or str(sku.get("name", "")).lower() not in ("standard", "premium") \
            or str(sku.get("family", "A")).upper() != "A":
        raise ArmError(400, "BadRequest", "The 'sku' must be {\"family\": \"A\", \"name\": \"standard\"} or "
                       "{\"family\": \"A\", \"name\": \"premium\"}.")
    old = existing or {}
    retention = props.get("softDeleteRetentionInDays", old.get("softDeleteRetentionInDays", 90))
    if not isinstance(retention, int) or isinstance(retention, bool) or not 7 <= retention <= 90:
        raise ArmError(400, "BadRequest", f"The softDeleteRetentionInDays value '{retention}' is invalid: it must "
                       "be between 7 and 90 days.")
    if existing and retention != old.get("softDeleteRetentionInDays", 90):
        raise ArmError(400, "BadRequest", "The soft delete retention period can only be set when the vault is "
                       "created; it cannot be changed afterwards.")
    if props.get("enableSoftDelete") is False:
        raise ArmError(400, "BadRequest", "Soft delete cannot be disabled: it is always on for every key vault. "
                       "See https://go.microsoft.com/fwlink/?linkid=2149745.")
    purge_protection = props.get("enablePurgeProtection")
    if purge_protection is False:
        raise ArmError(400, "BadRequest", 'The property "enablePurgeProtection" cannot be set to false. Enabling '
                       "the purge protection for a vault is an irreversible action.")
    rbac = props.get("enableRbacAuthorization")
    if rbac is None:
        # Existing vaults keep their model; new ones default by api-version (Azure's 2026-02-01 change).
        rbac = old["enableRbacAuthorization"] if existing else api_version[:10] >= RBAC_DEFAULT_SINCE
    policies = props.get("accessPolicies")
    policies = validated_policies(sb, policies) if policies is not None else list(old.get("accessPolicies", []))
    out = {
        "tenantId": tenant, "sku": {"family": "A", "name": str(sku["name"]).lower()}, "accessPolicies": policies,
        "enabledForDeployment": bool(props.get("enabledForDeployment", old.get("enabledForDeployment", False))),
        "enableSoftDelete": True, "softDeleteRetentionInDays": retention, "enableRbacAuthorization": bool(rbac),
    }
    for key in ("enabledForDiskEncryption", "enabledForTemplateDeployment"):
        # Azure answers these two only once they have been set (az shows null for a new vault), unlike
        # enabledForDeployment, which a new vault answers as false.
        value = props.get(key, old.get(key))
        if value is not None:
            out[key] = bool(value)
    if purge_protection or old.get("enablePurgeProtection"):
        out["enablePurgeProtection"] = True
    out["publicNetworkAccess"] = props.get("publicNetworkAccess") or old.get("publicNetworkAccess", "Enabled")
    return out


def build_vault(sb, sub: str, group: str, name: str, location: str, tags: dict[str, str],
                properties: dict[str, Any], caller_app_id: str, provisioning_state: str = "Succeeded",
                listen: bool = True) -> dict[str, Any]:
    """A new vault body (not stored); its data-plane listener starts here so vaultUri is known (`listen=False`
    for a vault born deleted: its recovery starts the listener)."""
    properties = dict(properties, vaultUri=sb.vault_url(name) if listen else None, provisioningState=provisioning_state)
    stamp = now_iso()
    return {"id": provider_id(sub, group, VAULT_TYPE, name), "name": name, "type": VAULT_TYPE, "location": location,
            "tags": tags, "properties": properties,
            "systemData": {"createdBy": caller_app_id, "createdByType": "Application", "createdAt": stamp,
                           "lastModifiedBy": caller_app_id, "lastModifiedByType": "Application",
                           "lastModifiedAt": stamp},
            "_sandbox": {"created": time.time(), "policyChanges": {}}}


def wire(sb, vault: dict[str, Any]) -> dict[str, Any]:
    """The vault as answered: vaultUri follows its listener, which may have moved to another port on restart."""
    body = public(vault)
    if body["properties"].get("vaultUri"):
        body["properties"] = dict(body["properties"], vaultUri=sb.vault_url(vault["name"]))
    return body


def store_vault(sb, vault: dict[str, Any]) -> None:
    put(sb, vault)
    index_live(sb, vault)


def vault_properties(sb, *, rbac: bool = True, policies: list[dict[str, Any]] | None = None,
                     purge_protection: bool = False) -> dict[str, Any]:
    """Validated properties of a standard vault, as a create with these choices would store them."""
    props = {"tenantId": sb.tenant_id, "sku": {"family": "A", "name": "standard"}, "enableRbacAuthorization": rbac,
             "accessPolicies": policies or []}
    if purge_protection:
        props["enablePurgeProtection"] = True
    return _validated_properties(sb, props, "2026-05-15", None)


def create_vault(sb, sub: str, group: str, name: str, location: str, *, rbac: bool = True,
                 policies: list[dict[str, Any]] | None = None, purge_protection: bool = False,
                 tags: dict[str, str] | None = None) -> dict[str, Any]:
    """Create a live vault directly (seeds and tests), with the same rules as a PUT."""
    if not valid_vault_name(name):
        raise name_not_valid(name)
    if name_record(sb, name) is not None:
        raise vault_already_exists(name)
    group_name = require_resource_group(sb, sub, group)["name"]
    with sb.store.transaction():  # store lock before the listener lock, as in the request handlers
        vault = build_vault(sb, sub, group_name, name, require_location(location), tags or {},
                            vault_properties(sb, rbac=rbac, policies=policies, purge_protection=purge_protection),
                            "sandbox-seed")
        store_vault(sb, vault)
    return vault


# ---- routes -----------------------------------------------------------------------------------------------
def _vault_id(sb, req: Request) -> str:
    group = require_resource_group(sb, req.params["sub"], req.params["rg"])
    return provider_id(req.params["sub"], group["name"], VAULT_TYPE, req.params["name"])


def require_vault(sb, req: Request) -> dict[str, Any]:
    vault_id = _vault_id(sb, req)
    lro.settle(sb, "keyvault_create", vault_id)
    vault = get(sb, vault_id)
    if vault is None:
        raise not_found(VAULT_TYPE, req.params["name"], req.params["rg"])
    return vault


def _operation_url(sb, req: Request, location: str, op_id: str) -> str:
    return (f"{sb.arm_url}/subscriptions/{req.params['sub']}/providers/Microsoft.KeyVault/locations/{location}"
            f"/operationResults/{op_id}?api-version={req.api_version}")


def answer_create(sb, req: Request, vault: dict[str, Any], status: int) -> Response:
    """Store a new (or recovered) vault. With a create duration it registers DNS first and the SDK polls."""
    duration = sb.realism.lro_duration("keyvault_create")
    if duration <= 0 and not sb.realism.held("lro:keyvault_create", vault["id"]):
        store_vault(sb, vault)
        return Response(status, wire(sb, vault))
    vault["properties"]["provisioningState"] = "RegisteringDns"
    store_vault(sb, vault)
    op = lro.start(sb, "keyvault_create", vault["id"], duration)
    return Response(201, wire(sb, vault), headers={"Location": _operation_url(sb, req, vault["location"], op["id"]),
                                                 **lro.retry_after(sb)})


@lro.finisher("keyvault_create")
def _finish_create(sb, op: dict[str, Any]) -> None:
    vault = get(sb, op["resourceId"])
    if vault is not None and vault["properties"].get("provisioningState") != "Succeeded":
        vault["properties"]["provisioningState"] = "Succeeded"
        store_vault(sb, vault)


@router.route("PUT", BASE + "/{name}", operation="keyvault_create", action=VAULT_TYPE + "/write")
def create_or_update(sb, req: Request) -> Response:
    sub, name = req.params["sub"], req.params["name"]
    if not valid_vault_name(name):
        raise name_not_valid(name)
    body = req.json_object()
    location = require_location(body.get("location"))
    tags = require_tags(body)
    props = body.get("properties")
    vault_id = _vault_id(sb, req)
    caller = req.principal.app_id if req.principal else ""
    with sb.store.transaction():
        record = name_record(sb, name)
        existing = get(sb, vault_id) if record and record["state"] == "live" and \
            record["id"].lower() == vault_id.lower() else None
        if isinstance(props, dict) and str(props.get("createMode", "")).lower() == "recover" and existing is None:
            from .keyvault_deleted import recover
            return recover(sb, req, record, vault_id, body)
        if existing is None and record is not None:
            if record["state"] == "deleted" and record["subscription"].lower() == sub.lower():
                raise ArmError(409, "ConflictError", DELETED_STATE_MESSAGE)
            raise vault_already_exists(name)
        if existing is not None:
            if existing["location"] != location:
                raise ArmError(400, "InvalidResourceLocation",
                               f"The resource '{existing['name']}' already exists in location '{existing['location']}' "
                               f"in resource group '{req.params['rg']}'. A resource with the same name cannot be "
                               f"created in location '{location}'. Please select a new resource name.")
            old_props = existing["properties"]
            new_props = _validated_properties(sb, props, req.api_version, old_props)
            note_policy_changes(sb, existing, old_props["accessPolicies"], new_props["accessPolicies"])
            existing["properties"] = dict(new_props, vaultUri=old_props["vaultUri"],
                                          provisioningState=old_props["provisioningState"])
            existing["tags"] = tags
            existing["systemData"].update(lastModifiedBy=caller, lastModifiedAt=now_iso())
            store_vault(sb, existing)
            return Response(200, wire(sb, existing))
        new_props = _validated_properties(sb, props, req.api_version, None)
        group = vault_id.split("/")[4]
        vault = build_vault(sb, sub, group, name, location, tags, new_props, caller)
        return answer_create(sb, req, vault, 201)


@router.route("GET", "/subscriptions/{sub}/providers/Microsoft.KeyVault/locations/{location}/operationResults/{op}",
              operation="arm_get", action="Microsoft.KeyVault/locations/operationResults/read")
def operation_result(sb, req: Request) -> Response:
    op = lro.poll(sb, req.params["op"])
    if op is None or not op["resourceId"].lower().startswith(f"/subscriptions/{req.params['sub']}/".lower()):
        raise ArmError(404, "OperationNotFound", f"The operation '{req.params['op']}' was not found.")
    if not lro.done(op):
        return Response(202, headers={"Location": _operation_url(sb, req, req.params["location"], op["id"]),
                                      **lro.retry_after(sb)})
    if op["error"]:
        raise ArmError(500, op["error"].get("code", "InternalServerError"), op["error"].get("message", ""))
    if op["kind"] == "keyvault_create":
        vault = get(sb, op["resourceId"])
        if vault is None:
            raise not_found(VAULT_TYPE, op["resourceId"].rsplit("/", 1)[-1], op["resourceId"].split("/")[4])
        return Response(200, wire(sb, vault))
    return Response(200)


@router.route("PATCH", BASE + "/{name}", operation="arm_write", action=VAULT_TYPE + "/write")
def update(sb, req: Request) -> Response:
    body = req.json_object()
    with sb.store.transaction():
        vault = require_vault(sb, req)
        if "tags" in body and body["tags"] is not None:
            vault["tags"] = require_tags(body)
        patch = body.get("properties") or {}
        if not isinstance(patch, dict):
            raise ArmError(400, "BadRequest", "The 'properties' property must be an object.")
        old_props = vault["properties"]
        merged = dict(old_props)
        merged.update({k: v for k, v in patch.items() if v is not None and k != "createMode"})
        new_props = _validated_properties(sb, merged, req.api_version, old_props)
        note_policy_changes(sb, vault, old_props["accessPolicies"], new_props["accessPolicies"])
        vault["properties"] = dict(new_props, vaultUri=old_props["vaultUri"],
                                   provisioningState=old_props["provisioningState"])
        vault["systemData"].update(lastModifiedBy=req.principal.app_id if req.principal else "",
                                   lastModifiedAt=now_iso())
        store_vault(sb, vault)
    return Response(200, wire(sb, vault))


@router.route("GET", BASE + "/{name}", operation="arm_get", action=VAULT_TYPE + "/read")
def get_vault(sb, req: Request) -> Response:
    return Response(200, wire(sb, require_vault(sb, req)))


def _settled(sb, vaults: list[dict[str, Any]]) -> list[dict[str, Any]]:
    for vault in vaults:
        lro.settle(sb, "keyvault_create", vault["id"])
    return [get(sb, v["id"]) or v for v in vaults]  # $top is a page size: page() serves it, with a nextLink


@router.route("GET", BASE, operation="arm_get", action=VAULT_TYPE + "/read")
def list_by_group(sb, req: Request) -> Response:
    group = require_resource_group(sb, req.params["sub"], req.params["rg"])
    parent = f"/subscriptions/{req.params['sub']}/resourceGroups/{group['name']}/providers/Microsoft.KeyVault"
    return Response(200, page([wire(sb, v) for v in _settled(sb, list_children(sb, parent, VAULT_TYPE))]))


@router.route("GET", "/subscriptions/{sub}/providers/Microsoft.KeyVault/vaults", operation="arm_get",
              action=VAULT_TYPE + "/read")
def list_by_subscription(sb, req: Request) -> Response:
    vaults = list_in_subscription(sb, req.params["sub"], VAULT_TYPE)
    return Response(200, page([wire(sb, v) for v in _settled(sb, vaults)]))


@router.route("DELETE", BASE + "/{name}", operation="arm_write", action=VAULT_TYPE + "/delete")
def delete_vault(sb, req: Request) -> Response:
    from .keyvault_deleted import soft_delete
    with sb.store.transaction():
        vault = get(sb, _vault_id(sb, req))
        if vault is None:
            return Response(204)
        soft_delete(sb, vault)
    return Response(200)


@router.route("POST", "/subscriptions/{sub}/providers/Microsoft.KeyVault/checkNameAvailability",
              operation="keyvault_check_name", action="Microsoft.KeyVault/checkNameAvailability/read")
def check_name(sb, req: Request) -> Response:
    body = req.json_object()
    name, rtype = body.get("name"), body.get("type")
    if not isinstance(name, str) or not name:
        raise ArmError(400, "BadRequest", "The 'name' property is required.")
    if not isinstance(rtype, str) or rtype.lower() != VAULT_TYPE.lower():
        raise ArmError(400, "BadRequest", f"The 'type' property must be '{VAULT_TYPE}'.")
    if not valid_vault_name(name):
        return Response(200, {"nameAvailable": False, "reason": "AccountNameInvalid",
                              "message": name_not_valid(name).message.split(" Follow this link")[0]})
    record = name_record(sb, name)
    if record is None:
        return Response(200, {"nameAvailable": True})
    if record["state"] == "deleted" and record["subscription"].lower() == req.params["sub"].lower():
        return Response(200, {"nameAvailable": False, "reason": "AlreadyExists",
                              "message": DELETED_STATE_MESSAGE.split(" Follow this link")[0]})
    return Response(200, {"nameAvailable": False, "reason": "AlreadyExists",
                          "message": f"The vault name '{name}' is already in use."})


# ---- demo seed --------------------------------------------------------------------------------------------
def _seed_demo(sb) -> None:
    import secrets as token_source

    from .keyvault_data import store_secret_version
    from .keyvault_deleted import soft_deleted_vault
    sub = sb.subscription_ids[0]
    soft_deleted_vault(sb, sub, "kv-prefect-old", "eastus", resource_group="rg-prefect-demo")
    take_vault_name_elsewhere(sb, "kv-contoso")
    operator = sb.operator("operator")
    create_vault(sb, sub, "rg-shared-secrets", "kv-legacy-ap", "eastus", rbac=False,
                 policies=[{"tenantId": sb.tenant_id, "objectId": operator["objectId"],
                            "permissions": {"secrets": ["get", "list", "set", "delete"]}}])
    store_secret_version(sb, "kv-legacy-ap", "db-password", token_source.token_urlsafe(24))


from ..seed import demo_seeders  # noqa: E402 - registered once, when the providers are imported

demo_seeders.append(_seed_demo)

from . import keyvault_access, keyvault_deleted  # noqa: E402,F401 - register access-policy and deleted-vault routes
