"""Microsoft.Resources generic resource lists: GET /subscriptions/{s}/resources and
GET /subscriptions/{s}/resourceGroups/{rg}/resources, with ARM's `$filter` (arm_filter), `$top` and `$expand`.

They are how clients find a resource by name or type alone: `vaults.list()` and `az keyvault show -n NAME` (no
`-g`) send `resourceType eq 'Microsoft.KeyVault/vaults'` (and `name eq`), `az resource list -g` lists a group.
Items have the generic shape ARM answers (id, name, type, location, and kind, sku, identity, tags... when the
resource has them); only top-level resources of resource groups are listed, never child or extension resources.
"""

from __future__ import annotations

from typing import Any

from ..arm import RESOURCE, page, public, require_resource_group, rg_id
from ..router import Request, Response, router
from . import arm_filter

_OPTIONAL = ("kind", "sku", "plan", "managedBy", "extendedLocation")
EXPANDABLE = {"createdtime", "changedtime", "provisioningstate"}
"""What `az resource list` asks $expand for (ARM's documented set for this list)."""


def _top_level(resource: dict[str, Any]) -> bool:
    """/subscriptions/s/resourceGroups/rg/providers/NS/type/name and nothing deeper, with a location."""
    parts = [p.lower() for p in str(resource.get("id", "")).split("/")]
    if parts.count("providers") != 1 or len(parts) < 4 or parts[3] != "resourcegroups":
        return False
    return len(parts) - parts.index("providers") - 1 == 3 and "location" in resource


def generic(resource: dict[str, Any], expand: set[str], with_tags: bool) -> dict[str, Any]:
    """The resource as ARM's generic list shows it."""
    r = public(resource)
    out: dict[str, Any] = {"id": r["id"], "name": r["name"], "type": r["type"]}
    out.update({k: r[k] for k in _OPTIONAL if r.get(k) is not None})
    out["location"] = r["location"]
    if r.get("identity"):
        out["identity"] = r["identity"]
    # ARM: "when resources are filtered by tag name and value, the original tags ... will not be returned".
    if with_tags and r.get("tags"):
        out["tags"] = r["tags"]
    system = r.get("systemData") or {}
    if "createdtime" in expand and system.get("createdAt"):
        out["createdTime"] = system["createdAt"]
    if "changedtime" in expand and (system.get("lastModifiedAt") or system.get("createdAt")):
        out["changedTime"] = system.get("lastModifiedAt") or system["createdAt"]
    if "provisioningstate" in expand:
        state = (r.get("properties") or {}).get("provisioningState")
        if state:
            out["provisioningState"] = state
    return out


def _listed(sb, req: Request, prefix: str) -> Response:
    clauses = arm_filter.parse(req.query.get("$filter", ""))
    expand = {e.strip().lower() for e in req.query.get("$expand", "").split(",") if e.strip()} & EXPANDABLE
    found = [r for r in sb.store.list(RESOURCE, key_prefix=prefix.lower())
             if _top_level(r) and arm_filter.matches(r, clauses)]
    with_tags = not arm_filter.filters_by_tag(clauses)
    body = page(found)
    body["value"] = [generic(r, expand, with_tags) for r in body["value"]]
    return Response(200, body)


@router.route("GET", "/subscriptions/{sub}/resources", operation="arm_get",
              action="Microsoft.Resources/subscriptions/resources/read")
def list_resources(sb, req: Request) -> Response:
    return _listed(sb, req, f"/subscriptions/{req.params['sub']}/resourcegroups/")


@router.route("GET", "/subscriptions/{sub}/resourcegroups/{rg}/resources", operation="arm_get",
              action="Microsoft.Resources/subscriptions/resourceGroups/resources/read")
def list_group_resources(sb, req: Request) -> Response:
    group = require_resource_group(sb, req.params["sub"], req.params["rg"])
    return _listed(sb, req, rg_id(req.params["sub"], group["name"]) + "/providers/")
