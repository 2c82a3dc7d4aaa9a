"""Soft-deleted Key Vaults: what a vault DELETE leaves behind, get and list, purge (long-running) and recovery
(a PUT with createMode "recover"). A soft-deleted vault keeps its name, its body and its secrets until it is
purged or its retention period ends.
"""

from __future__ import annotations

import copy
import time
from typing import Any

from .. import lro
from ..arm import delete, now_iso, page, public, require_location
from ..router import ArmError, Request, Response, router
from .keyvault_mgmt import (
    SECRET,
    VAULT_NAME,
    answer_create,
    build_vault,
    name_record,
    valid_vault_name,
    vault_already_exists,
    vault_properties,
)

DELETED_VAULT = "deleted_vault"
DELETED_TYPE = "Microsoft.KeyVault/deletedVaults"
DAY_S = 86400.0
_LOCATION = "/subscriptions/{sub}/providers/Microsoft.KeyVault/locations/{location}/deletedVaults/{name}"


def deleted_vault_id(sub: str, location: str, name: str) -> str:
    return f"/subscriptions/{sub}/providers/Microsoft.KeyVault/locations/{location}/deletedVaults/{name}"


def soft_delete(sb, vault: dict[str, Any], now: float | None = None) -> dict[str, Any]:
    """Move a live vault to the deleted vaults of its subscription and location; its secrets stay for recovery."""
    now = time.time() if now is None else now
    sub = vault["id"].split("/")[2]
    props = vault["properties"]
    purge_at = now + props.get("softDeleteRetentionInDays", 90) * DAY_S
    record = {"id": deleted_vault_id(sub, vault["location"], vault["name"]), "name": vault["name"], "type": DELETED_TYPE,
              "properties": {"vaultId": vault["id"], "location": vault["location"], "deletionDate": now_iso(now),
                             "scheduledPurgeDate": now_iso(purge_at), "tags": vault.get("tags") or {},
                             "purgeProtectionEnabled": bool(props.get("enablePurgeProtection"))},
              "_sandbox": {"vault": vault, "purgeAt": purge_at}}
    with sb.store.transaction():
        sb.store.put(DELETED_VAULT, vault["name"], record)
        delete(sb, vault["id"])
        sb.store.put(VAULT_NAME, vault["name"], {"name": vault["name"], "state": "deleted", "id": vault["id"],
                                                 "subscription": sub, "location": vault["location"]})
    return record


def purge_now(sb, name: str) -> None:
    """Forget a deleted vault for good: its record, its name and its secrets."""
    with sb.store.transaction():
        sb.store.delete(DELETED_VAULT, name)
        sb.store.delete(VAULT_NAME, name)
        for secret in sb.store.list(SECRET, parent=name):
            sb.store.delete(SECRET, f"{name}/{secret['name']}")


def catch_up(sb, record: dict[str, Any] | None) -> dict[str, Any] | None:
    """Bring an index entry up to date with what happened meanwhile: a vault whose resource group was deleted
    is soft-deleted (as in Azure), and a deleted vault past its scheduled purge date is gone."""
    if record is None:
        return None
    from ..arm import get
    if record["state"] == "live" and get(sb, record["id"]) is None:
        soft_delete(sb, record["snapshot"])
        return sb.store.get(VAULT_NAME, record["name"])
    if record["state"] == "deleted":
        deleted = sb.store.get(DELETED_VAULT, record["name"])
        if deleted is None or time.time() >= deleted["_sandbox"]["purgeAt"]:
            purge_now(sb, record["name"])
            return None
    return record


def soft_deleted_vault(sb, sub_id: str, name: str, location: str, purge_protection: bool = False,
                       resource_group: str = "rg-deleted", deleted_at: float | None = None) -> dict[str, Any]:
    """Create a soft-deleted vault record directly (demo seed and tests): its name is then held in `sub_id`."""
    if not valid_vault_name(name):
        raise ValueError(f"invalid vault name {name!r}")
    with sb.store.transaction():
        if name_record(sb, name) is not None:
            raise vault_already_exists(name)
        vault = build_vault(sb, sub_id, resource_group, name, require_location(location), {},
                            vault_properties(sb, purge_protection=purge_protection), "sandbox-seed", listen=False)
        return soft_delete(sb, vault, now=deleted_at)


def _find(sb, req: Request) -> dict[str, Any]:
    sub, location, name = req.params["sub"], req.params["location"].replace(" ", "").lower(), req.params["name"]
    lro.settle(sb, "keyvault_purge", deleted_vault_id(sub, location, name))
    record = name_record(sb, name)
    deleted = sb.store.get(DELETED_VAULT, name) if record and record["state"] == "deleted" else None
    if deleted is None or deleted["id"].split("/")[2].lower() != sub.lower() \
            or deleted["properties"]["location"] != location:
        raise ArmError(404, "DeletedVaultNotFound", f"Deleted vault {name} not found")
    return deleted


@router.route("GET", _LOCATION, operation="arm_get", action="Microsoft.KeyVault/locations/deletedVaults/read")
def get_deleted(sb, req: Request) -> Response:
    return Response(200, public(_find(sb, req)))


@router.route("GET", "/subscriptions/{sub}/providers/Microsoft.KeyVault/deletedVaults", operation="arm_get",
              action="Microsoft.KeyVault/deletedVaults/read")
def list_deleted(sb, req: Request) -> Response:
    for record in sb.store.list(VAULT_NAME):  # vaults of deleted groups, expired deletions, finished purges
        catch_up(sb, record)
    for deleted in sb.store.list(DELETED_VAULT):
        lro.settle(sb, "keyvault_purge", deleted["id"])
    sub = req.params["sub"].lower()
    return Response(200, page([d for d in sb.store.list(DELETED_VAULT) if d["id"].split("/")[2].lower() == sub]))


@router.route("POST", _LOCATION + "/purge", operation="arm_write",
              action="Microsoft.KeyVault/locations/deletedVaults/purge/action")
def purge(sb, req: Request) -> Response:
    with sb.store.transaction():
        deleted = _find(sb, req)
        if deleted["properties"]["purgeProtectionEnabled"]:
            raise ArmError(400, "InvalidOperation", "Operation 'DeletedVaultPurge' is not allowed.")
        op = lro.start(sb, "keyvault_purge", deleted["id"], sb.realism.lro_duration("keyvault_purge"),
                       vaultName=deleted["name"])
    if lro.done(op):
        return Response(200)
    location = (f"{sb.arm_url}/subscriptions/{req.params['sub']}/providers/Microsoft.KeyVault/locations/"
                f"{deleted['properties']['location']}/operationResults/{op['id']}?api-version={req.api_version}")
    return Response(202, headers={"Location": location, **lro.retry_after(sb)})


@lro.finisher("keyvault_purge")
def _finish_purge(sb, op: dict[str, Any]) -> None:
    purge_now(sb, op["vaultName"])


def recover(sb, req: Request, record: dict[str, Any] | None, vault_id: str, body: dict[str, Any]) -> Response:
    """PUT with createMode "recover": bring a soft-deleted vault of this subscription back, secrets included."""
    name, sub = req.params["name"], req.params["sub"]
    deleted = sb.store.get(DELETED_VAULT, name) if record and record["state"] == "deleted" else None
    if deleted is None or deleted["id"].split("/")[2].lower() != sub.lower():
        if record is not None:
            raise vault_already_exists(name)
        raise ArmError(404, "DeletedVaultNotFound", f"Deleted vault {name} not found")
    location = require_location(body.get("location"))
    if location != deleted["properties"]["location"]:
        raise ArmError(400, "BadRequest", f"The deleted vault '{name}' is in location "
                       f"'{deleted['properties']['location']}' and can only be recovered there.")
    vault = copy.deepcopy(deleted["_sandbox"]["vault"])
    vault["id"] = vault_id
    if "tags" in body and body["tags"] is not None:
        vault["tags"] = body["tags"]
    vault["properties"].update(vaultUri=sb.vault_url(vault["name"]), provisioningState="Succeeded")
    vault["systemData"].update(lastModifiedBy=req.principal.app_id if req.principal else "",
                               lastModifiedAt=now_iso())
    sb.store.delete(DELETED_VAULT, name)
    return answer_create(sb, req, vault, 201)
