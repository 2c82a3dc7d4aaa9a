"""Microsoft.KeyVault/vaults/secrets on the management plane: secret metadata through ARM, never the value.

Azure serves this to control-plane readers (an Owner or Reader sees that a secret exists and is enabled
without being able to read it), which is how mi-wizard checks a secret on an RBAC vault it cannot read.
"""

from __future__ import annotations

from typing import Any

from ..router import ArmError, Request, Response, router
from .keyvault_data import _key
from .keyvault_mgmt import BASE, SECRET, require_vault

SECRET_TYPE = "Microsoft.KeyVault/vaults/secrets"


def _resource(sb, vault: dict[str, Any], rec: dict[str, Any]) -> dict[str, Any]:
    latest = rec["versions"][-1]
    base = sb.vault_url(vault["name"]).rstrip("/")
    attributes = {"enabled": latest["enabled"], "created": latest["created"], "updated": latest["updated"]}
    for key in ("nbf", "exp"):
        if latest.get(key) is not None:
            attributes[key] = latest[key]
    properties: dict[str, Any] = {"attributes": attributes, "secretUri": f"{base}/secrets/{rec['name']}",
                                  "secretUriWithVersion": f"{base}/secrets/{rec['name']}/{latest['version']}"}
    if latest.get("contentType"):
        properties["contentType"] = latest["contentType"]
    return {"id": f"{vault['id']}/secrets/{rec['name']}", "name": rec["name"], "type": SECRET_TYPE,
            "location": vault["location"], "tags": latest.get("tags") or {}, "properties": properties}


@router.route("GET", BASE + "/{name}/secrets/{secret}", operation="arm_get", action=SECRET_TYPE + "/read")
def get_secret(sb, req: Request) -> Response:
    vault = require_vault(sb, req)
    rec = sb.store.get(SECRET, _key(vault["name"], req.params["secret"]))
    if rec is None or rec.get("deleted"):
        raise ArmError(404, "ResourceNotFound", f"The Resource '{SECRET_TYPE}/{vault['name']}/{req.params['secret']}' "
                       f"under resource group '{req.params['rg']}' was not found. For more details please go to "
                       "https://aka.ms/ARMResourceNotFoundFix")
    return Response(200, _resource(sb, vault, rec))


@router.route("GET", BASE + "/{name}/secrets", operation="arm_get", action=SECRET_TYPE + "/read")
def list_secrets(sb, req: Request) -> Response:
    vault = require_vault(sb, req)
    records = [r for r in sb.store.list(SECRET, parent=vault["name"]) if not r.get("deleted")]
    return Response(200, {"value": [_resource(sb, vault, r) for r in records]})
