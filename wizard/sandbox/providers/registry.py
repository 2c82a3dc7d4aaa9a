"""Microsoft.ContainerRegistry registries: create (LRO), get, list, name check, admin credentials. What a setup needs
to grant AcrPull, and what `az acr credential show` reads.

Registry names are global (they become `<name>.azurecr.io`): an index (kind REGISTRY_NAME) records which registry
holds a name. A new registry answers 201 with provisioningState Creating (Succeeded at once without a duration)
and an Azure-AsyncOperation at {registry}/operationStatuses/registries-{id}; a PUT on an existing one is 200.
"""

from __future__ import annotations

import re
import secrets
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
from .aks import status_document

NS = "Microsoft.ContainerRegistry/registries"
REGISTRY_NAME = "registry_name"
BASE = "/subscriptions/{sub}/resourcegroups/{rg}/providers/Microsoft.ContainerRegistry/registries"
SKUS = {"basic": "Basic", "standard": "Standard", "premium": "Premium"}
_NAME = re.compile(r"^[a-zA-Z0-9]{5,50}$")


def _name_invalid(name: str) -> str:
    return (f"Registry name '{name}' is invalid: it may contain only letters and digits and must be between 5 and 50 "
            "characters.")


def _in_use(name: str) -> str:
    return (f"The registry DNS name {name.lower()}.azurecr.io is already in use. You can check if the name is already "
            "claimed using following API: https://docs.microsoft.com/en-us/rest/api/containerregistry/registries/"
            "checknameavailability")


def _holder(sb, name: str) -> dict[str, Any] | None:
    record = sb.store.get(REGISTRY_NAME, name.lower())
    if record is not None and record.get("id") and get(sb, record["id"]) is None:
        sb.store.delete(REGISTRY_NAME, name.lower())  # its resource group was deleted
        return None
    return record


@router.route("POST", "/subscriptions/{sub}/providers/Microsoft.ContainerRegistry/checkNameAvailability",
              operation="arm_get", action="Microsoft.ContainerRegistry/checkNameAvailability/read")
def check_name(sb, req: Request) -> Response:
    name = str(req.json_object().get("name", ""))
    if not _NAME.match(name):
        return Response(200, {"nameAvailable": False, "reason": "Invalid", "message": _name_invalid(name)})
    if _holder(sb, name) is not None:
        return Response(200, {"nameAvailable": False, "reason": "AlreadyExists",
                              "message": f"The registry {name} is already in use."})
    return Response(200, {"nameAvailable": True})


def _registry_id(sb, req: Request) -> str:
    group = require_resource_group(sb, req.params["sub"], req.params["rg"])
    return provider_id(req.params["sub"], group["name"], NS, req.params["name"])


def _settled(sb, registry_id: str) -> dict[str, Any] | None:
    lro.settle(sb, "registry_create", registry_id)
    return get(sb, registry_id)


def build_registry(name: str, registry_id: str, location: str, tags: dict[str, str], sku: str,
                   props: dict[str, Any], old: dict[str, Any]) -> dict[str, Any]:
    return {"id": registry_id, "name": name, "type": NS, "location": location, "tags": tags,
            "sku": {"name": sku, "tier": sku},
            "properties": {
                "loginServer": f"{name.lower()}.azurecr.io", "creationDate": old.get("creationDate") or now_iso(),
                "provisioningState": "Succeeded",
                "adminUserEnabled": bool(props.get("adminUserEnabled", old.get("adminUserEnabled", False))),
                "policies": {"quarantinePolicy": {"status": "disabled"},
                             "trustPolicy": {"type": "Notary", "status": "disabled"},
                             "retentionPolicy": {"days": 7, "status": "disabled"},
                             "exportPolicy": {"status": "enabled"}},
                "encryption": {"status": "disabled"}, "dataEndpointEnabled": False, "dataEndpointHostNames": [],
                "privateEndpointConnections": [],
                "publicNetworkAccess": str(props.get("publicNetworkAccess") or old.get("publicNetworkAccess")
                                           or "Enabled"),
                "networkRuleBypassOptions": "AzureServices", "zoneRedundancy": "Disabled",
                "anonymousPullEnabled": bool(props.get("anonymousPullEnabled", old.get("anonymousPullEnabled", False))),
                "metadataSearch": "Disabled", "roleAssignmentMode": "LegacyRegistryPermissions"}}


@lro.finisher("registry_create")
def _finish_create(sb, op: dict[str, Any]) -> None:
    registry = get(sb, op["resourceId"])
    if registry is not None:
        registry["properties"]["provisioningState"] = "Succeeded"
        put(sb, registry)


@router.route("GET", BASE + "/{name}/operationStatuses/{op}", operation="arm_get", action=NS + "/read")
def operation_status(sb, req: Request) -> Response:
    op = lro.poll(sb, req.params["op"].removeprefix("registries-"))
    if op is None or op["kind"] != "registry_create":
        raise ArmError(404, "OperationNotFound", f"The operation '{req.params['op']}' could not be found.")
    return Response(200, status_document(op, req.path))


@router.route("PUT", BASE + "/{name}", operation="registry_create", action=NS + "/write")
def create_or_update(sb, req: Request) -> Response:
    name = req.params["name"]
    if not _NAME.match(name):
        raise ArmError(400, "InvalidResourceName", _name_invalid(name))
    body = req.json_object()
    location = require_location(body.get("location"))
    tags = require_tags(body)
    raw_sku = (body.get("sku") or {}).get("name") if isinstance(body.get("sku"), dict) else None
    sku = SKUS.get(str(raw_sku).lower()) if isinstance(raw_sku, str) else None
    if sku is None:
        raise ArmError(400, "InvalidParameter", f"The sku '{raw_sku}' is not valid: use Basic, Standard or Premium.")
    props = body.get("properties") or {}
    if not isinstance(props, dict):
        raise ArmError(400, "InvalidRequestContent", "The 'properties' property must be an object.")
    registry_id = _registry_id(sb, req)
    with sb.store.transaction():
        holder = _holder(sb, name)
        if holder is not None and holder.get("id", "").lower() != registry_id.lower():
            raise ArmError(409, "AlreadyInUse", _in_use(name))
        existing = _settled(sb, registry_id)
        if existing is not None and existing["location"] != location:
            raise ArmError(409, "InvalidResourceLocation", f"The resource '{name}' already exists in location "
                           f"'{existing['location']}' in resource group '{req.params['rg']}'. A resource with the same "
                           f"name cannot be created in location '{location}'. Please select a new resource name.")
        old = (existing or {}).get("properties", {})
        registry = build_registry(existing["name"] if existing else name, registry_id, location, tags, sku, props, old)
        if existing is not None:
            registry["_sandbox"] = existing.get("_sandbox", {})  # an update keeps the admin passwords
            put(sb, registry)
            return Response(200, public(registry))
        sb.store.put(REGISTRY_NAME, name.lower(), {"name": name, "id": registry_id})
        op = lro.start(sb, "registry_create", registry_id, sb.realism.lro_duration("registry_create"))
        if not lro.done(op):
            registry["properties"]["provisioningState"] = "Creating"
        put(sb, registry)
    url = f"{sb.arm_url}{registry_id}/operationStatuses/registries-{op['id']}?api-version={req.api_version}"
    return Response(201, public(registry), headers={"Azure-AsyncOperation": url, **lro.retry_after(sb)})


@router.route("POST", BASE + "/{name}/listCredentials", operation="arm_get", action=NS + "/listCredentials/action")
def list_credentials(sb, req: Request) -> Response:
    """The admin user's name and two passwords (RegistryListCredentials.json), for a registry with the admin user
    enabled; Azure refuses it otherwise. The passwords are made once and kept, as a registry keeps its own."""
    with sb.store.transaction():
        registry = _settled(sb, _registry_id(sb, req))
        if registry is None:
            raise not_found(NS, req.params["name"], req.params["rg"])
        if not registry["properties"].get("adminUserEnabled"):
            raise ArmError(400, "UnAuthorizedForCredentialOperations", f"Cannot perform credential operations for "
                           f"{registry['id']} as admin user is disabled. Kindly enable admin user as per docs: "
                           "https://docs.microsoft.com/azure/container-registry/container-registry-authentication"
                           "#admin-account")
        meta = registry.setdefault("_sandbox", {})
        if not meta.get("passwords"):
            meta["passwords"] = [secrets.token_urlsafe(39)[:52] for _ in range(2)]
            put(sb, registry)
    names = ("password", "password2")
    return Response(200, {"username": registry["name"], "passwords": [
        {"name": name, "value": value} for name, value in zip(names, meta["passwords"], strict=True)]})


@router.route("GET", BASE + "/{name}", operation="arm_get", action=NS + "/read")
def get_registry(sb, req: Request) -> Response:
    registry = _settled(sb, _registry_id(sb, req))
    if registry is None:
        raise not_found(NS, req.params["name"], req.params["rg"])
    return Response(200, public(registry))


@router.route("GET", BASE, operation="arm_get", action=NS + "/read")
def list_by_group(sb, req: Request) -> Response:
    group = require_resource_group(sb, req.params["sub"], req.params["rg"])
    registries = list_children(sb, f"{group['id']}/providers/Microsoft.ContainerRegistry", NS)
    return Response(200, page([_settled(sb, r["id"]) for r in registries]))


@router.route("GET", "/subscriptions/{sub}/providers/Microsoft.ContainerRegistry/registries", operation="arm_get",
              action=NS + "/read")
def list_by_subscription(sb, req: Request) -> Response:
    return Response(200, page([_settled(sb, r["id"]) for r in list_in_subscription(sb, req.params["sub"], NS)]))


def _seed_demo(sb) -> None:
    """acrcontoso (Basic) in rg-platform: the registry a platform's identity or kubelet gets AcrPull on."""
    registry_id = provider_id(sb.subscription_ids[0], "rg-platform", NS, "acrcontoso")
    put(sb, build_registry("acrcontoso", registry_id, "northeurope", {}, "Basic", {}, {}))
    sb.store.put(REGISTRY_NAME, "acrcontoso", {"name": "acrcontoso", "id": registry_id})


from ..seed import demo_seeders  # noqa: E402 - registered when the provider is imported

demo_seeders.append(_seed_demo)
