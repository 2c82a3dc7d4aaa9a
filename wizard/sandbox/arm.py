"""Helpers every ARM provider shares: ids, resource groups, locations, tags, generic resource storage."""

from __future__ import annotations

import re
import time
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from .paging import ARM_PAGING, paginate
from .router import ARM, ArmError, Request, current_call, not_found

if TYPE_CHECKING:
    from .app import Sandbox

RESOURCE = "resource"
SUBSCRIPTION = "subscription"

LOCATIONS = {
    "eastus": "East US", "eastus2": "East US 2", "westus": "West US", "westus2": "West US 2", "westus3": "West US 3",
    "centralus": "Central US", "northeurope": "North Europe", "westeurope": "West Europe",
    "uksouth": "UK South", "swedencentral": "Sweden Central", "francecentral": "France Central",
    "germanywestcentral": "Germany West Central", "australiaeast": "Australia East",
    "japaneast": "Japan East", "southeastasia": "Southeast Asia", "canadacentral": "Canada Central",
}
_RG_NAME = re.compile(r"^[-\w._()]{1,90}$")


def now_iso(at: float | None = None) -> str:
    at = time.time() if at is None else at
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(at)) + f".{int((at % 1) * 1e7):07d}Z"


def rg_id(sub: str, rg: str) -> str:
    return f"/subscriptions/{sub}/resourceGroups/{rg}"


def provider_id(sub: str, rg: str, namespace_type: str, name: str) -> str:
    return f"{rg_id(sub, rg)}/providers/{namespace_type}/{name}"


def parse_id(resource_id: str) -> dict[str, str]:
    """{'subscription', 'resourceGroup', 'provider', 'type', 'name'} of an ARM id (best effort)."""
    parts = [p for p in resource_id.split("/") if p]
    out: dict[str, str] = {}
    lowered = [p.lower() for p in parts]
    if "subscriptions" in lowered:
        out["subscription"] = parts[lowered.index("subscriptions") + 1]
    if "resourcegroups" in lowered:
        out["resourceGroup"] = parts[lowered.index("resourcegroups") + 1]
    if "providers" in lowered:
        i = lowered.index("providers")
        rest = parts[i + 1:]
        if rest:
            out["provider"] = rest[0]
            out["type"] = "/".join([rest[0]] + rest[1::2])
            out["name"] = rest[-1] if len(rest) % 2 == 1 else ""
    return out


def valid_rg_name(name: str) -> bool:
    return bool(_RG_NAME.match(name)) and not name.endswith(".")


def require_location(location: Any) -> str:
    if not isinstance(location, str) or not location:
        raise ArmError(400, "LocationRequired", "The location property is required for this definition.")
    key = location.replace(" ", "").lower()
    if key not in LOCATIONS:
        raise ArmError(400, "LocationNotAvailableForResourceType",
                       f"The provided location '{location}' is not available for this resource type. "
                       f"List of available regions is '{','.join(LOCATIONS)}'.")
    return key


def require_tags(body: dict[str, Any]) -> dict[str, str]:
    tags = body.get("tags") or {}
    if not isinstance(tags, dict) or not all(isinstance(v, str) for v in tags.values()):
        raise ArmError(400, "InvalidRequestContent",
                       "The 'tags' property must be an object of string values.")
    return tags


def get_resource_group(sb: Sandbox, sub: str, rg: str) -> dict[str, Any] | None:
    return sb.store.get(RESOURCE, rg_id(sub, rg))


def require_resource_group(sb: Sandbox, sub: str, rg: str) -> dict[str, Any]:
    group = get_resource_group(sb, sub, rg)
    if group is None:
        raise ArmError(404, "ResourceGroupNotFound", f"Resource group '{rg}' could not be found.")
    return group


def check_subscription(sb: Sandbox, request: Request) -> None:
    """ARM answers 404 SubscriptionNotFound for any path under an unknown subscription."""
    parts = [p for p in request.path.split("/") if p]
    if len(parts) >= 2 and parts[0].lower() == "subscriptions":
        sub = parts[1]
        if not re.fullmatch(r"[0-9a-fA-F-]{36}", sub):
            raise ArmError(400, "InvalidSubscriptionId", f"The provided subscription identifier '{sub}' is malformed "
                           "or invalid.")
        if sb.store.get(SUBSCRIPTION, sub) is None:
            raise ArmError(404, "SubscriptionNotFound", f"The subscription '{sub}' could not be found.")


def get(sb: Sandbox, resource_id: str) -> dict[str, Any] | None:
    return sb.store.get(RESOURCE, resource_id)


def put(sb: Sandbox, resource: dict[str, Any], parent: str | None = None) -> None:
    """Store an ARM resource under its id; listed under `parent` (default: the id minus the last two segments)."""
    rid = resource["id"]
    if parent is None:
        parent = rid.rsplit("/", 2)[0]
    sb.store.put(RESOURCE, rid, resource, parent=parent + "|" + resource.get("type", "").lower())


def delete(sb: Sandbox, resource_id: str) -> bool:
    return sb.store.delete(RESOURCE, resource_id)


def list_children(sb: Sandbox, parent: str, resource_type: str) -> list[dict[str, Any]]:
    return sb.store.list(RESOURCE, parent=parent + "|" + resource_type.lower())


def list_in_subscription(sb: Sandbox, sub: str, resource_type: str) -> list[dict[str, Any]]:
    prefix = f"/subscriptions/{sub}/".lower()
    return [r for r in sb.store.list(RESOURCE, key_prefix=prefix) if r.get("type", "").lower() == resource_type.lower()]


def public(resource: dict[str, Any]) -> dict[str, Any]:
    """The resource as answered over the wire: without the sandbox's private bookkeeping."""
    return {k: v for k, v in resource.items() if not k.startswith("_")}


def page(values: list[dict[str, Any]]) -> dict[str, Any]:
    """One page of an ARM list for the request being served: its `$top` (or `maxresults`) and `$skiptoken`
    decide which items, and a nextLink on the ARM host serves the rest (none on the last page, as ARM omits it)."""
    bound = current_call()
    if bound is None:  # called outside a request (seeding, tests): the whole list
        return {"value": [public(v) for v in values]}
    sb, req = bound
    base = sb.arm_url if req.plane == ARM or not req.host else f"https://{req.host}"
    # A sandbox may page smaller (`sb.arm_page_size`), so that tests see every list follow nextLinks.
    paging = replace(ARM_PAGING, page_size=getattr(sb, "arm_page_size", ARM_PAGING.page_size))
    return paginate(values, base_url=base, path=req.path, query=req.query, paging=paging, convert=public)
