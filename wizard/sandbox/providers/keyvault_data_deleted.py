"""Key Vault secrets' soft delete on the data plane: DELETE a secret, list and get deleted secrets, recover and
purge them. Every vault has soft delete (90 days by default), so a deleted secret keeps its name: a set answers
409 `ObjectIsDeletedButRecoverable` until it is recovered or purged (or its retention ends).

Recovery and purge are asynchronous on Azure: a recovered secret answers 404 for a few seconds before it is back
(the SDK's recover poller polls GET /secrets/{name} for that), and a purged name answers 404 everywhere while a set
is still refused with 409 "Secret is currently being deleted." (azure-sdk-for-net#26027,
terraform-provider-azurerm#10454). Both are sandbox operations (`lro.start(..., at_first_look=True)`): with no
duration they finish at the first request after the answer; `realism.lro_seconds["keyvault_secret_recover"|
"keyvault_secret_purge"]` lengthens them and `realism.hold("lro:keyvault_secret_recover", key=SECRET_ARM_ID)` holds
one, so tests hold time instead of sleeping. While one runs the record carries `pending`; `keyvault_data._record`
treats such a secret as neither live nor deleted.
"""

from __future__ import annotations

import time
from typing import Any

from .. import lro
from ..router import VAULT, ArmError, Request, Response, router
from .keyvault_access import authorize, vault_for_request
from .keyvault_data import (
    _HELP,
    SECRET,
    _bundle,
    _checked_name,
    _deleted_bundle,
    _key,
    _not_found,
    _record,
    secret_arm_id,
    vault_page,
)
from .keyvault_mgmt import live_vault

DAY_S = 86400


def soft_delete_secret(sb, vault: dict[str, Any], name: str, *, now: float | None = None) -> dict[str, Any]:
    """Move live secret `name` of `vault` to its deleted secrets (the DELETE below; tests and seeds use it too)."""
    with sb.store.transaction():
        rec = _record(sb, vault, name)
        if rec is None:
            raise _not_found(name)
        at = int(time.time() if now is None else now)
        days = vault["properties"].get("softDeleteRetentionInDays", 90)
        rec["deleted"] = {"deletedDate": at, "scheduledPurgeDate": at + days * DAY_S}
        sb.store.put(SECRET, _key(vault["name"], name), rec, parent=vault["name"].lower())
    return rec


def _deleted_not_found(name: str) -> ArmError:
    return ArmError(404, "SecretNotFound", f"Deleted Secret not found: {name}. {_HELP}")


@router.route("DELETE", "/secrets/{name}", operation="keyvault_secret_delete", plane=VAULT)
def delete_secret(sb, req: Request) -> Response:
    vault, name = vault_for_request(sb, req), _checked_name(req)
    authorize(sb, req, vault, "delete", name)
    rec = soft_delete_secret(sb, vault, name)
    return Response(200, _deleted_bundle(sb, vault, rec))


@router.route("GET", "/deletedsecrets", operation="keyvault_secret_list", plane=VAULT)
def list_deleted_secrets(sb, req: Request) -> Response:
    vault = vault_for_request(sb, req)
    authorize(sb, req, vault, "list_deleted")
    names = [rec["name"] for rec in sb.store.list(SECRET, parent=vault["name"].lower())]
    items = [_deleted_bundle(sb, vault, rec, item=True) for rec in (_record(sb, vault, n, deleted=True)
                                                                     for n in names) if rec is not None]
    return Response(200, vault_page(sb, vault, req, items))


@router.route("GET", "/deletedsecrets/{name}", operation="keyvault_secret_get", plane=VAULT)
def get_deleted_secret(sb, req: Request) -> Response:
    vault, name = vault_for_request(sb, req), _checked_name(req)
    authorize(sb, req, vault, "get_deleted", name)
    rec = _record(sb, vault, name, deleted=True)
    if rec is None:
        raise _deleted_not_found(name)
    return Response(200, _deleted_bundle(sb, vault, rec))


def _start(sb, vault: dict[str, Any], rec: dict[str, Any], kind: str) -> None:
    """Mark the record as being recovered or purged and start the operation that finishes it."""
    rec["pending"] = kind
    sb.store.put(SECRET, _key(vault["name"], rec["name"]), rec, parent=vault["name"].lower())
    lro.start(sb, f"keyvault_secret_{kind}", secret_arm_id(vault, rec["name"]),
              sb.realism.lro_duration(f"keyvault_secret_{kind}"), at_first_look=True,
              vaultName=vault["name"], secretName=rec["name"])


@router.route("POST", "/deletedsecrets/{name}/recover", operation="keyvault_secret_recover", plane=VAULT)
def recover_deleted_secret(sb, req: Request) -> Response:
    vault, name = vault_for_request(sb, req), _checked_name(req)
    authorize(sb, req, vault, "recover", name)
    with sb.store.transaction():
        rec = _record(sb, vault, name, deleted=True)
        if rec is None:
            raise _deleted_not_found(name)
        rec["deleted"] = None
        _start(sb, vault, rec, "recover")
    return Response(200, _bundle(sb, vault, rec, rec["versions"][-1], value=False))


@router.route("DELETE", "/deletedsecrets/{name}", operation="keyvault_secret_purge", plane=VAULT)
def purge_deleted_secret(sb, req: Request) -> Response:
    vault, name = vault_for_request(sb, req), _checked_name(req)
    authorize(sb, req, vault, "purge", name)
    if vault["properties"].get("enablePurgeProtection"):
        raise ArmError(403, "Forbidden", 'Operation "purge" is not allowed because purge protection is enabled for '
                       "this vault. Key Vault service will automatically purge it after the retention period has "
                       "passed.")
    with sb.store.transaction():
        rec = _record(sb, vault, name, deleted=True)
        if rec is None:
            raise _deleted_not_found(name)
        _start(sb, vault, rec, "purge")
    return Response(204)


def _pending_record(sb, op: dict[str, Any], kind: str) -> tuple[str, dict[str, Any] | None]:
    key = _key(op["vaultName"], op["secretName"])
    rec = sb.store.get(SECRET, key)
    return key, rec if rec is not None and rec.get("pending") == kind else None


@lro.finisher("keyvault_secret_recover")
def _recovered(sb, op: dict[str, Any]) -> None:
    key, rec = _pending_record(sb, op, "recover")
    if rec is not None:
        rec.pop("pending")
        sb.store.put(SECRET, key, rec, parent=op["vaultName"].lower())


@lro.finisher("keyvault_secret_purge")
def _purged(sb, op: dict[str, Any]) -> None:
    key, rec = _pending_record(sb, op, "purge")
    if rec is not None:
        sb.store.delete(SECRET, key)


def soft_deleted_secret(sb, vault_name: str, name: str, value: str, *, deleted_at: float | None = None
                        ) -> dict[str, Any]:
    """A secret that was written and then deleted (tests and demos): its name is held until recovered or purged."""
    from .keyvault_data import store_secret_version
    vault = live_vault(sb, vault_name)
    if vault is None:
        raise ValueError(f"no live vault {vault_name!r}")
    store_secret_version(sb, vault["name"], name, value)
    return soft_delete_secret(sb, vault, name, now=deleted_at)
