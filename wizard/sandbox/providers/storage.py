"""Microsoft.Storage: storage accounts (create is an LRO, get, list, name check) and blob containers (create, get,
list). What a setup needs to grant Storage Blob Data roles on an account or one container.

Account names are global, as in Azure: an index (kind STORAGE_NAME) records which account holds a name, or that
another tenant does (`take_storage_name_elsewhere`). A new account answers 202 with a Location that reports 202
until `realism.lro_duration("storage_create")` has passed, then 200 with the account; a PUT on an existing one
is a synchronous 200. Container writes need the account to have finished provisioning.
"""

from __future__ import annotations

import re
import secrets
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

NS = "Microsoft.Storage/storageAccounts"
CONTAINER_TYPE = NS + "/blobServices/containers"
STORAGE_NAME = "storage_account_name"
BASE = "/subscriptions/{sub}/resourcegroups/{rg}/providers/Microsoft.Storage/storageAccounts"
CONTAINERS = BASE + "/{name}/blobServices/default/containers"
SKUS = {"standard_lrs": "Standard_LRS", "standard_grs": "Standard_GRS", "standard_ragrs": "Standard_RAGRS",
        "standard_zrs": "Standard_ZRS", "standard_gzrs": "Standard_GZRS", "standard_ragzrs": "Standard_RAGZRS",
        "premium_lrs": "Premium_LRS", "premium_zrs": "Premium_ZRS"}
KINDS = {"storagev2": "StorageV2", "storage": "Storage", "blobstorage": "BlobStorage",
         "blockblobstorage": "BlockBlobStorage", "filestorage": "FileStorage"}
ENDPOINTS = {"StorageV2": ("blob", "queue", "table", "file", "dfs", "web"),
             "Storage": ("blob", "queue", "table", "file"), "BlobStorage": ("blob", "dfs", "web"),
             "BlockBlobStorage": ("blob", "dfs", "web"), "FileStorage": ("file",)}
PUBLIC_ACCESS = {"none": "None", "blob": "Blob", "container": "Container"}
_ACCOUNT_NAME = re.compile(r"^[a-z0-9]{3,24}$")
_CONTAINER_NAME = re.compile(r"^[a-z0-9](?:[a-z0-9]|-(?=[a-z0-9])){2,62}$")


# ---- names ------------------------------------------------------------------------------------------------
def _name_invalid(name: str) -> str:
    return (f"{name} is not a valid storage account name. Storage account name must be between 3 and 24 characters "
            "in length and use numbers and lower-case letters only.")


def _holder(sb, name: str) -> dict[str, Any] | None:
    """Who holds account name `name`: {"state": "live", "id"} or {"state": "elsewhere"}; None when it is free."""
    record = sb.store.get(STORAGE_NAME, name)
    if record is not None and record["state"] == "live" and get(sb, record["id"]) is None:
        sb.store.delete(STORAGE_NAME, name)  # its resource group was deleted
        return None
    return record


def take_storage_name_elsewhere(sb, name: str) -> None:
    """Mark `name` as used by an account in another tenant: creates get 409 StorageAccountAlreadyTaken."""
    sb.store.put(STORAGE_NAME, name, {"name": name, "state": "elsewhere"})


@router.route("POST", "/subscriptions/{sub}/providers/Microsoft.Storage/checkNameAvailability",
              operation="arm_get", action="Microsoft.Storage/checknameavailability/read")
def check_name(sb, req: Request) -> Response:
    body = req.json_object()
    name = str(body.get("name", ""))
    if str(body.get("type", NS)).lower() != NS.lower():
        raise ArmError(400, "InvalidResourceType", f"The resource type '{body.get('type')}' is not valid: use "
                       f"'{NS}'.")
    if not _ACCOUNT_NAME.match(name):
        return Response(200, {"nameAvailable": False, "reason": "AccountNameInvalid", "message": _name_invalid(name)})
    if _holder(sb, name) is not None:
        return Response(200, {"nameAvailable": False, "reason": "AlreadyExists",
                              "message": f"The storage account named {name} is already taken."})
    return Response(200, {"nameAvailable": True})


# ---- accounts ---------------------------------------------------------------------------------------------
def _account_id(sb, req: Request) -> str:
    group = require_resource_group(sb, req.params["sub"], req.params["rg"])
    return provider_id(req.params["sub"], group["name"], NS, req.params["name"])


def _settled(sb, account_id: str) -> dict[str, Any] | None:
    lro.settle(sb, "storage_create", account_id)
    return get(sb, account_id)


def require_account(sb, req: Request) -> dict[str, Any]:
    account = _settled(sb, _account_id(sb, req))
    if account is None:
        raise not_found(NS, req.params["name"], req.params["rg"])
    return account


def _choice(value: Any, options: dict[str, str], what: str, default: str | None = None) -> str:
    if value is None and default is not None:
        return default
    chosen = options.get(str(value).lower()) if isinstance(value, str) else None
    if chosen is None:
        raise ArmError(400, "InvalidRequestPropertyValue", f"The value '{value}' is not allowed for {what}. Allowed "
                       f"values: {', '.join(options.values())}.")
    return chosen


def _properties(name: str, kind: str, sku: str, location: str, props: dict[str, Any],
                old: dict[str, Any]) -> dict[str, Any]:
    created = old.get("creationTime") or now_iso()
    out = {
        "keyCreationTime": old.get("keyCreationTime") or {"key1": created, "key2": created},
        "privateEndpointConnections": [], "dnsEndpointType": "Standard",
        "minimumTlsVersion": str(props.get("minimumTlsVersion") or old.get("minimumTlsVersion") or "TLS1_2"),
        "allowBlobPublicAccess": bool(props.get("allowBlobPublicAccess", old.get("allowBlobPublicAccess", False))),
        "allowSharedKeyAccess": bool(props.get("allowSharedKeyAccess", old.get("allowSharedKeyAccess", True))),
        "isHnsEnabled": bool(props.get("isHnsEnabled", old.get("isHnsEnabled", False))),
        "networkAcls": {"bypass": "AzureServices", "virtualNetworkRules": [], "ipRules": [], "defaultAction": "Allow"},
        "supportsHttpsTrafficOnly": bool(props.get("supportsHttpsTrafficOnly",
                                                   old.get("supportsHttpsTrafficOnly", True))),
        "encryption": {"requireInfrastructureEncryption": False, "keySource": "Microsoft.Storage",
                       "services": {s: {"keyType": "Account", "enabled": True, "lastEnabledTime": created}
                                    for s in ("blob", "file")}},
        "provisioningState": "Succeeded", "creationTime": created,
        "primaryEndpoints": {e: (f"https://{name}.z13.web.core.windows.net/" if e == "web"
                                 else f"https://{name}.{e}.core.windows.net/") for e in ENDPOINTS[kind]},
        "primaryLocation": location, "statusOfPrimary": "available",
        "publicNetworkAccess": str(props.get("publicNetworkAccess") or old.get("publicNetworkAccess") or "Enabled"),
    }
    if kind in ("StorageV2", "BlobStorage") and not sku.startswith("Premium"):
        out["accessTier"] = str(props.get("accessTier") or old.get("accessTier") or "Hot")
    return out


@lro.finisher("storage_create")
def _finish_create(sb, op: dict[str, Any]) -> None:
    account = get(sb, op["resourceId"])
    if account is not None:
        account["properties"]["provisioningState"] = "Succeeded"
        put(sb, account)


def _operation_url(sb, req: Request, location: str, op_id: str) -> str:
    return (f"{sb.arm_url}/subscriptions/{req.params['sub']}/providers/Microsoft.Storage/locations/{location}"
            f"/asyncoperations/{op_id}?monitor=true&api-version={req.api_version}")


@router.route("GET", "/subscriptions/{sub}/providers/Microsoft.Storage/locations/{location}/asyncoperations/{op}",
              operation="arm_get", action="Microsoft.Storage/locations/asyncoperations/read")
def operation_result(sb, req: Request) -> Response:
    op = lro.poll(sb, req.params["op"])
    if op is None or op["kind"] != "storage_create":
        raise ArmError(404, "OperationNotFound", f"The operation '{req.params['op']}' could not be found.")
    if not lro.done(op):
        return Response(202, headers={"Location": _operation_url(sb, req, req.params["location"], op["id"]),
                                      **lro.retry_after(sb)})
    account = get(sb, op["resourceId"])
    if account is None:
        raise not_found(NS, op["resourceId"].rsplit("/", 1)[-1], op["resourceId"].split("/")[4])
    return Response(200, public(account))


@router.route("PUT", BASE + "/{name}", operation="storage_account_create", action=NS + "/write")
def create_or_update(sb, req: Request) -> Response:
    name = req.params["name"]
    if not _ACCOUNT_NAME.match(name):
        raise ArmError(400, "AccountNameInvalid", _name_invalid(name))
    body = req.json_object()
    location = require_location(body.get("location"))
    tags = require_tags(body)
    sku = _choice((body.get("sku") or {}).get("name") if isinstance(body.get("sku"), dict) else None, SKUS, "sku.name")
    kind = _choice(body.get("kind"), KINDS, "kind")
    props = body.get("properties") or {}
    if not isinstance(props, dict):
        raise ArmError(400, "InvalidRequestContent", "The 'properties' property must be an object.")
    account_id = _account_id(sb, req)
    with sb.store.transaction():
        holder = _holder(sb, name)
        if holder is not None and (holder["state"] != "live" or holder["id"].lower() != account_id.lower()):
            raise ArmError(409, "StorageAccountAlreadyTaken", f"The storage account named {name} is already taken.")
        existing = _settled(sb, account_id)
        if existing is not None and existing["location"] != location:
            raise ArmError(409, "InvalidResourceLocation", f"The resource '{name}' already exists in location "
                           f"'{existing['location']}' in resource group '{req.params['rg']}'. A resource with the same "
                           f"name cannot be created in location '{location}'. Please select a new resource name.")
        old = (existing or {}).get("properties", {})
        account = {"sku": {"name": sku, "tier": sku.split("_")[0]}, "kind": kind, "id": account_id, "name": name,
                   "type": NS, "location": location, "tags": tags,
                   "properties": _properties(name, kind, sku, location, props, old)}
        if existing is not None:
            account["properties"]["provisioningState"] = old.get("provisioningState", "Succeeded")
            put(sb, account)
            return Response(200, public(account))
        sb.store.put(STORAGE_NAME, name, {"name": name, "state": "live", "id": account_id})
        op = lro.start(sb, "storage_create", account_id, sb.realism.lro_duration("storage_create"))
        if not lro.done(op):
            account["properties"]["provisioningState"] = "Creating"
        put(sb, account)
    # Azure answers a new account with 202, an empty body and a Location to poll.
    return Response(202, headers={"Location": _operation_url(sb, req, location, op["id"]), **lro.retry_after(sb)})


@router.route("GET", BASE + "/{name}", operation="arm_get", action=NS + "/read")
def get_account(sb, req: Request) -> Response:
    return Response(200, public(require_account(sb, req)))


@router.route("GET", BASE, operation="arm_get", action=NS + "/read")
def list_by_group(sb, req: Request) -> Response:
    group = require_resource_group(sb, req.params["sub"], req.params["rg"])
    accounts = list_children(sb, f"{group['id']}/providers/Microsoft.Storage", NS)
    return Response(200, page([_settled(sb, a["id"]) for a in accounts]))


@router.route("GET", "/subscriptions/{sub}/providers/Microsoft.Storage/storageAccounts", operation="arm_get",
              action=NS + "/read")
def list_by_subscription(sb, req: Request) -> Response:
    return Response(200, page([_settled(sb, a["id"]) for a in list_in_subscription(sb, req.params["sub"], NS)]))


# ---- blob containers -----------------------------------------------------------------------------------------
def _container_id(account: dict[str, Any], name: str) -> str:
    return f"{account['id']}/blobServices/default/containers/{name}"


def _container(container_id: str, access: str, metadata: dict[str, Any], modified: str) -> dict[str, Any]:
    return {"id": container_id, "name": container_id.rsplit("/", 1)[-1], "type": CONTAINER_TYPE,
            "etag": f'"0x8D{secrets.token_hex(6).upper()}"',
            "properties": {"immutableStorageWithVersioning": {"enabled": False}, "deleted": False,
                           "remainingRetentionDays": 0, "defaultEncryptionScope": "$account-encryption-key",
                           "denyEncryptionScopeOverride": False, "publicAccess": access, "leaseStatus": "Unlocked",
                           "leaseState": "Available", "lastModifiedTime": modified, "hasImmutabilityPolicy": False,
                           "hasLegalHold": False, "metadata": metadata}}


def _container_not_found() -> ArmError:
    return ArmError(404, "ContainerNotFound", "The specified container does not exist.")


@router.route("PUT", CONTAINERS + "/{container}", operation="blob_container_create",
              action=CONTAINER_TYPE + "/write")
def put_container(sb, req: Request) -> Response:
    name = req.params["container"]
    if not 3 <= len(name) <= 63:
        raise ArmError(400, "ContainerOperationFailure", "The specified resource name length is not within the "
                       "permissible limits.")
    if not _CONTAINER_NAME.match(name):
        raise ArmError(400, "ContainerOperationFailure", "The specifed resource name contains invalid characters.")
    body = req.json_object() if req.body else {}
    props = body.get("properties") or {}
    if not isinstance(props, dict):
        raise ArmError(400, "InvalidRequestContent", "The 'properties' property must be an object.")
    access = _choice(props.get("publicAccess"), PUBLIC_ACCESS, "properties.publicAccess", default="None")
    metadata = props.get("metadata") or {}
    if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
        raise ArmError(400, "InvalidRequestContent", "The 'properties.metadata' property must be an object of strings.")
    with sb.store.transaction():
        account = require_account(sb, req)
        if account["properties"]["provisioningState"] != "Succeeded":
            raise ArmError(409, "StorageAccountIsNotProvisioned", "The storage account provisioning state must be "
                           "'Succeeded' before executing the operation.")
        if access != "None" and not account["properties"]["allowBlobPublicAccess"]:
            raise ArmError(409, "ContainerOperationFailure", "Public access is not permitted on this storage account.")
        existing = get(sb, _container_id(account, name))
        container = _container(_container_id(account, name), access, metadata,
                               time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime()))
        put(sb, container)
    return Response(200 if existing else 201, public(container))


@router.route("GET", CONTAINERS + "/{container}", operation="arm_get", action=CONTAINER_TYPE + "/read")
def get_container(sb, req: Request) -> Response:
    container = get(sb, _container_id(require_account(sb, req), req.params["container"]))
    if container is None:
        raise _container_not_found()
    return Response(200, public(container))


@router.route("GET", CONTAINERS, operation="arm_get", action=CONTAINER_TYPE + "/read")
def list_containers(sb, req: Request) -> Response:
    account = require_account(sb, req)
    return Response(200, page(list_children(sb, f"{account['id']}/blobServices/default", CONTAINER_TYPE)))


# ---- demo ---------------------------------------------------------------------------------------------------
def _seed_demo(sb) -> None:
    """stcontosodata in rg-platform (northeurope) with container "raw": the data lake a platform identity is
    granted Storage Blob Data Contributor on."""
    sub = sb.subscription_ids[0]
    name = "stcontosodata"
    account_id = provider_id(sub, "rg-platform", NS, name)
    put(sb, {"sku": {"name": "Standard_LRS", "tier": "Standard"}, "kind": "StorageV2", "id": account_id,
             "name": name, "type": NS, "location": "northeurope", "tags": {"purpose": "data-lake"},
             "properties": _properties(name, "StorageV2", "Standard_LRS", "northeurope", {"isHnsEnabled": True}, {})})
    sb.store.put(STORAGE_NAME, name, {"name": name, "state": "live", "id": account_id})
    put(sb, _container(f"{account_id}/blobServices/default/containers/raw", "None", {}, "2025-01-01T00:00:00+00:00"))


from ..seed import demo_seeders  # noqa: E402 - registered when the provider is imported

demo_seeders.append(_seed_demo)
