"""Microsoft.KeyVault/vaults/secrets on the management plane: secrets through ARM, never their values back.

Azure serves GET/list to control-plane readers (an Owner or Reader sees that a secret exists and is enabled
without being able to read it), which is how mi-wizard checks a secret on an RBAC vault it cannot read.

PUT (Secrets_CreateOrUpdate, the path Bicep and ARM templates deploy) writes a new version with the
control-plane action `Microsoft.KeyVault/vaults/secrets/write`, which Owner and Contributor hold: data-plane
RBAC and access policies do not apply, so it works the same on either kind of vault, with no grant to wait for.
The version is stored exactly as a data-plane set stores it, so the workload reads it through SecretClient.
Shapes: Secret.tsp and examples/2026-05-15/createSecret.json in Azure/azure-rest-api-specs (200 for a new version
of an existing secret, 201 for a new secret; the body is the Secret resource, which has no value);
https://learn.microsoft.com/rest/api/keyvault/keyvault/secrets/create-or-update
"""

from __future__ import annotations

from typing import Any

from ..arm import page
from ..router import ArmError, Request, Response, router
from .keyvault_data import _NAME, MAX_VALUE_BYTES, _record, store_secret_version
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
    rec = _record(sb, vault, req.params["secret"])  # neither a deleted secret nor one still being recovered
    if rec is None:
        raise ArmError(404, "ResourceNotFound", f"The Resource '{SECRET_TYPE}/{vault['name']}/{req.params['secret']}' "
                       f"under resource group '{req.params['rg']}' was not found. For more details please go to "
                       "https://aka.ms/ARMResourceNotFoundFix")
    return Response(200, _resource(sb, vault, rec))


@router.route("GET", BASE + "/{name}/secrets", operation="arm_get", action=SECRET_TYPE + "/read")
def list_secrets(sb, req: Request) -> Response:
    vault = require_vault(sb, req)
    names = [r["name"] for r in sb.store.list(SECRET, parent=vault["name"])]
    records = [r for r in (_record(sb, vault, n) for n in names) if r is not None]  # recoveries due are settled
    return Response(200, page([_resource(sb, vault, r) for r in records]))  # $top and nextLink, as ARM pages


def _bad_request(message: str) -> ArmError:
    # The Key Vault resource provider's code for these is not confirmed; its other body errors are BadRequest.
    return ArmError(400, "BadRequest", message)


def _validated(body: dict[str, Any]) -> tuple[str, str | None, dict[str, str] | None, dict[str, Any]]:
    """(value, contentType, tags, attributes) of a Secrets_CreateOrUpdate body, or 400 as the data plane judges."""
    props = body.get("properties")
    if not isinstance(props, dict):
        raise _bad_request("The 'properties' object with the secret's 'value' is required.")
    value = props.get("value")
    if not isinstance(value, str):
        raise _bad_request("The secret value is required and must be a string.")
    if len(value.encode("utf-8")) > MAX_VALUE_BYTES:
        raise _bad_request(f"Secret is beyond the maximum permitted length of {MAX_VALUE_BYTES} characters.")
    content_type = props.get("contentType")
    if content_type is not None and not isinstance(content_type, str):
        raise _bad_request("The 'properties.contentType' property must be a string.")
    tags = body.get("tags")
    if tags is not None and (not isinstance(tags, dict) or not all(isinstance(v, str) for v in tags.values())):
        raise _bad_request("The 'tags' property must be an object of string values.")
    attributes = props.get("attributes") or {}
    if not isinstance(attributes, dict) or not isinstance(attributes.get("enabled", True), bool) or not all(
            attributes.get(k) is None or (isinstance(attributes[k], int) and not isinstance(attributes[k], bool))
            for k in ("nbf", "exp")):
        raise _bad_request("The 'properties.attributes' object takes 'enabled' (a boolean) and 'nbf' and 'exp' "
                           "(seconds since 1970-01-01T00:00:00Z).")
    return value, content_type, tags, attributes


@router.route("PUT", BASE + "/{name}/secrets/{secret}", operation="keyvault_secret_arm_put",
              action=SECRET_TYPE + "/write")
def create_or_update_secret(sb, req: Request) -> Response:
    name = req.params["secret"]
    if not _NAME.match(name):
        raise _bad_request(f"The request URI contains an invalid name: {name}. A secret name is 1-127 letters, "
                           "digits and hyphens.")
    value, content_type, tags, attributes = _validated(req.json_object())
    vault = require_vault(sb, req)
    # A soft-deleted secret's name answers the data plane's 409 Conflict (store_secret_version raises it).
    rec, _ = store_secret_version(sb, vault["name"], name, value, content_type=content_type, tags=tags,
                                  attributes=attributes)
    return Response(201 if len(rec["versions"]) == 1 else 200, _resource(sb, vault, rec))
