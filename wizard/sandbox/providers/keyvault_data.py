"""Key Vault secrets, data plane (what SecretClient calls), served on each vault's own HTTPS port.

Paths are relative to the vault URL (`req.context["vault"]` names the vault); soft delete, recovery and purge
are in keyvault_data_deleted. Ids are
`{vault url}/secrets/{name}/{32-hex version}` with no path prefix, since the SDK parses them. Secrets are
stored per vault name, so they survive a vault's soft delete and come back with its recovery.
"""

from __future__ import annotations

import re
import time
import uuid
from typing import Any

from .. import lro
from ..paging import KEYVAULT_PAGING, paginate
from ..router import VAULT, ArmError, Request, Response, router
from .keyvault_access import authorize, vault_for_request
from .keyvault_mgmt import SECRET, live_vault

MAX_VALUE_BYTES = 25600
"""Key Vault's documented 25 KB per secret value."""
_NAME = re.compile(r"^[0-9a-zA-Z-]{1,127}$")
_HELP = "For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125182"


# ---- storage and shapes -----------------------------------------------------------------------------------
def _key(vault_name: str, name: str) -> str:
    return f"{vault_name.lower()}/{name.lower()}"


def secret_arm_id(vault: dict[str, Any], name: str) -> str:
    """The secret's ARM id: the key of its recovery and purge operations (`realism.hold("lro:…", key=…)`)."""
    return f"{vault['id']}/secrets/{name}"


def settle(sb, vault: dict[str, Any], name: str) -> dict[str, Any] | None:
    """The stored record after any recovery or purge of it that is due has finished (see keyvault_data_deleted)."""
    for kind in ("keyvault_secret_recover", "keyvault_secret_purge"):
        lro.settle(sb, kind, secret_arm_id(vault, name))
    return sb.store.get(SECRET, _key(vault["name"], name))  # type: ignore[no-any-return]


def _record(sb, vault: dict[str, Any], name: str, *, deleted: bool = False) -> dict[str, Any] | None:
    """The live (or, with `deleted`, the soft-deleted) secret; one being recovered or purged is neither yet."""
    rec = settle(sb, vault, name)
    if rec is None or bool(rec.get("deleted")) != deleted or rec.get("pending"):
        return None
    return rec


def _not_found(name: str) -> ArmError:
    return ArmError(404, "SecretNotFound", f"A secret with (name/id) {name} was not found in this key vault. If you "
                    f"recently deleted this secret you may be able to recover it using the correct recovery command. "
                    f"{_HELP}")


def _base(sb, vault: dict[str, Any]) -> str:
    return sb.vault_url(vault["name"]).rstrip("/")


def _attributes(vault: dict[str, Any], version: dict[str, Any]) -> dict[str, Any]:
    props = vault["properties"]
    out: dict[str, Any] = {"enabled": version["enabled"]}
    for key in ("nbf", "exp"):
        if version.get(key) is not None:
            out[key] = version[key]
    out.update(created=version["created"], updated=version["updated"],
               recoveryLevel="Recoverable" if props.get("enablePurgeProtection") else "Recoverable+Purgeable",
               recoverableDays=props.get("softDeleteRetentionInDays", 90))
    return out


def _bundle(sb, vault: dict[str, Any], rec: dict[str, Any], version: dict[str, Any], *, value: bool) -> dict[str, Any]:
    out: dict[str, Any] = {"value": version["value"]} if value else {}
    out["id"] = f"{_base(sb, vault)}/secrets/{rec['name']}/{version['version']}"
    if version.get("contentType") is not None:
        out["contentType"] = version["contentType"]
    out["attributes"] = _attributes(vault, version)
    if version.get("tags"):
        out["tags"] = version["tags"]
    return out


def _deleted_bundle(sb, vault: dict[str, Any], rec: dict[str, Any], *, item: bool = False) -> dict[str, Any]:
    latest = rec["versions"][-1]
    out = _bundle(sb, vault, rec, latest, value=False)
    if item:
        out["id"] = f"{_base(sb, vault)}/secrets/{rec['name']}"
    out.update(recoveryId=f"{_base(sb, vault)}/deletedsecrets/{rec['name']}", **rec["deleted"])
    return out


def store_secret_version(sb, vault_name: str, name: str, value: str, *, content_type: str | None = None,
                         tags: dict[str, str] | None = None, attributes: dict[str, Any] | None = None
                         ) -> tuple[dict[str, Any], dict[str, Any]]:
    """Add a new version of secret `name` to vault `vault_name` (also used by the demo seed)."""
    attributes = attributes or {}
    now = int(time.time())
    version = {"version": uuid.uuid4().hex, "value": value, "contentType": content_type, "tags": tags,
               "enabled": attributes.get("enabled", True) is not False, "nbf": attributes.get("nbf"),
               "exp": attributes.get("exp"), "created": now, "updated": now}
    with sb.store.transaction():
        vault = live_vault(sb, vault_name)
        rec = settle(sb, vault, name) if vault else sb.store.get(SECRET, _key(vault_name, name))
        if rec is not None and rec.get("pending") == "purge":
            # Azure: after a purge the name is neither live nor deleted, yet a set is refused for a few seconds
            # (azure-sdk-for-net#26027; the message as in terraform-provider-azurerm#10454).
            raise ArmError(409, "Conflict", "Secret is currently being deleted.")
        if rec is not None and rec.get("pending") == "recover":
            # Modelled on the purge's answer; the exact wording for a recovery is not confirmed.
            raise ArmError(409, "Conflict", "Secret is currently being recovered.")
        if rec is not None and rec.get("deleted"):
            raise ArmError(409, "Conflict", f"Secret {name} is currently in a deleted but recoverable state, and its "
                           "name cannot be reused; in this state, the secret can only be recovered or purged.",
                           innererror={"code": "ObjectIsDeletedButRecoverable"})
        if rec is None:
            rec = {"name": name, "vault": vault_name.lower(), "versions": [], "deleted": None}
        rec["versions"].append(version)
        sb.store.put(SECRET, _key(vault_name, name), rec, parent=vault_name.lower())
    return rec, version


def _checked_name(req: Request) -> str:
    name = req.params["name"]
    if not _NAME.match(name):
        raise ArmError(400, "BadParameter", f"The request URI contains an invalid name: {name}")
    return name


def _find_version(rec: dict[str, Any], version_id: str | None) -> dict[str, Any] | None:
    if not version_id:
        return rec["versions"][-1]
    return next((v for v in rec["versions"] if v["version"].lower() == version_id.lower()), None)


def vault_page(sb, vault: dict[str, Any], req: Request, items: list[dict[str, Any]]) -> dict[str, Any]:
    """One page of a data-plane list: up to `maxresults` (1..25, default 25) items, a nextLink on the vault's own
    URL for the rest, and `"nextLink": null` on the last page, as Key Vault answers."""
    return paginate(items, base_url=_base(sb, vault), path=req.path, query=req.query, paging=KEYVAULT_PAGING)


# ---- secrets ------------------------------------------------------------------------------------------------
@router.route("GET", "/secrets", operation="keyvault_secret_list", plane=VAULT)
def list_secrets(sb, req: Request) -> Response:
    vault = vault_for_request(sb, req)
    authorize(sb, req, vault, "list")
    items = []
    for listed in sb.store.list(SECRET, parent=vault["name"]):
        rec = _record(sb, vault, listed["name"])  # not deleted, not still being recovered
        if rec is None:
            continue
        latest = rec["versions"][-1]
        item = _bundle(sb, vault, rec, latest, value=False)
        item["id"] = f"{_base(sb, vault)}/secrets/{rec['name']}"
        items.append(item)
    return Response(200, vault_page(sb, vault, req, items))


@router.route("GET", "/secrets/{name}/versions", operation="keyvault_secret_list", plane=VAULT)
def list_versions(sb, req: Request) -> Response:
    vault, name = vault_for_request(sb, req), _checked_name(req)
    authorize(sb, req, vault, "list", name)
    rec = _record(sb, vault, name)
    items = [_bundle(sb, vault, rec, v, value=False) for v in rec["versions"]] if rec else []
    return Response(200, vault_page(sb, vault, req, items))


@router.route("GET", "/secrets/{name}/{version}", operation="keyvault_secret_get", plane=VAULT)
@router.route("GET", "/secrets/{name}", operation="keyvault_secret_get", plane=VAULT)
def get_secret(sb, req: Request) -> Response:
    vault, name = vault_for_request(sb, req), _checked_name(req)
    authorize(sb, req, vault, "get", name)
    rec = _record(sb, vault, name)
    version_id = req.params.get("version")
    version = _find_version(rec, version_id) if rec else None
    if version is None:
        raise _not_found(f"{name}/{version_id}" if version_id else name)
    if not version["enabled"]:
        raise ArmError(403, "Forbidden", "Operation get is not allowed on a disabled secret.",
                       innererror={"code": "SecretDisabled"})
    return Response(200, _bundle(sb, vault, rec, version, value=True))


@router.route("PUT", "/secrets/{name}", operation="keyvault_secret_set", plane=VAULT)
def set_secret(sb, req: Request) -> Response:
    vault, name = vault_for_request(sb, req), _checked_name(req)
    authorize(sb, req, vault, "set", name)
    body = req.json_object()
    value = body.get("value")
    if not isinstance(value, str):
        raise ArmError(400, "BadParameter", "The secret value is required and must be a string.")
    if len(value.encode("utf-8")) > MAX_VALUE_BYTES:
        raise ArmError(400, "BadParameter", f"Secret is beyond the maximum permitted length of {MAX_VALUE_BYTES} "
                       "characters.")
    tags = body.get("tags")
    if tags is not None and (not isinstance(tags, dict) or not all(isinstance(v, str) for v in tags.values())):
        raise ArmError(400, "BadParameter", "The 'tags' property must be an object of string values.")
    attributes = body.get("attributes") if isinstance(body.get("attributes"), dict) else {}
    content_type = body.get("contentType") if isinstance(body.get("contentType"), str) else None
    rec, version = store_secret_version(sb, vault["name"], name, value, content_type=content_type, tags=tags,
                                        attributes=attributes)
    return Response(200, _bundle(sb, vault, rec, version, value=True))


@router.route("PATCH", "/secrets/{name}/{version}", operation="keyvault_secret_update", plane=VAULT)
@router.route("PATCH", "/secrets/{name}", operation="keyvault_secret_update", plane=VAULT)
def update_secret(sb, req: Request) -> Response:
    vault, name = vault_for_request(sb, req), _checked_name(req)
    authorize(sb, req, vault, "update", name)
    body = req.json_object()
    version_id = req.params.get("version")
    with sb.store.transaction():
        rec = _record(sb, vault, name)
        version = _find_version(rec, version_id) if rec else None
        if version is None:
            raise _not_found(f"{name}/{version_id}" if version_id else name)
        if "contentType" in body:
            version["contentType"] = body["contentType"]
        if "tags" in body:
            version["tags"] = body["tags"]
        attributes = body.get("attributes") or {}
        if "enabled" in attributes and attributes["enabled"] is not None:
            version["enabled"] = bool(attributes["enabled"])
        for key in ("nbf", "exp"):
            if key in attributes:
                version[key] = attributes[key]
        version["updated"] = int(time.time())
        sb.store.put(SECRET, _key(vault["name"], name), rec, parent=vault["name"].lower())
    return Response(200, _bundle(sb, vault, rec, version, value=False))


# Soft delete, recovery and purge of secrets: their own module (its routes register on import).
from . import keyvault_data_deleted  # noqa: E402,F401
