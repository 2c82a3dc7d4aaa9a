"""Microsoft.Resources: subscriptions and resource groups."""

from __future__ import annotations

from ..arm import (
    LOCATIONS,
    RESOURCE,
    SUBSCRIPTION,
    get_resource_group,
    list_children,
    page,
    public,
    put,
    require_location,
    require_tags,
    rg_id,
    valid_rg_name,
)
from ..router import ArmError, Request, Response, router
from . import arm_filter

RG_TYPE = "Microsoft.Resources/resourceGroups"


@router.route("GET", "/subscriptions", operation="arm_list_subscriptions")
def list_subscriptions(sb, req: Request) -> Response:
    # A caller sees the subscriptions where it holds any role, as in Azure.
    from ..authz import assignments_for, scope_covers
    mine = assignments_for(sb.store, req.principal.object_id)
    visible = [s for s in sb.store.list(SUBSCRIPTION)
               if any(scope_covers(ra["properties"]["scope"], s["id"]) or scope_covers(s["id"], ra["properties"]["scope"])
                      for ra in mine)]
    return Response(200, page(visible))


@router.route("GET", "/subscriptions/{sub}", operation="arm_get", action="Microsoft.Resources/subscriptions/read")
def get_subscription(sb, req: Request) -> Response:
    sub = sb.store.get(SUBSCRIPTION, req.params["sub"])
    if sub is None:
        raise ArmError(404, "SubscriptionNotFound", f"The subscription '{req.params['sub']}' could not be found.")
    return Response(200, public(sub))


@router.route("GET", "/subscriptions/{sub}/locations", operation="arm_get",
              action="Microsoft.Resources/subscriptions/locations/read")
def list_locations(sb, req: Request) -> Response:
    sub = req.params["sub"]
    return Response(200, {"value": [{"id": f"/subscriptions/{sub}/locations/{k}", "name": k, "displayName": v,
                                     "regionalDisplayName": f"(Sandbox) {v}", "type": "Region"}
                                    for k, v in LOCATIONS.items()]})


@router.route("GET", "/subscriptions/{sub}/resourcegroups", operation="arm_get",
              action="Microsoft.Resources/subscriptions/resourceGroups/read")
def list_groups(sb, req: Request) -> Response:
    # Resource groups filter by tag only ("tagName eq 'k' and tagValue eq 'v'"), and page 1000 at a time.
    clauses = arm_filter.parse(req.query.get("$filter", ""), arm_filter.GROUP_FIELDS)
    groups = list_children(sb, f"/subscriptions/{req.params['sub']}", RG_TYPE)
    return Response(200, page([g for g in groups if arm_filter.matches(g, clauses)]))


@router.route("GET", "/subscriptions/{sub}/resourcegroups/{rg}", operation="arm_get",
              action="Microsoft.Resources/subscriptions/resourceGroups/read")
def get_group(sb, req: Request) -> Response:
    group = get_resource_group(sb, req.params["sub"], req.params["rg"])
    if group is None:
        raise ArmError(404, "ResourceGroupNotFound", f"Resource group '{req.params['rg']}' could not be found.")
    return Response(200, public(group))


@router.route("HEAD", "/subscriptions/{sub}/resourcegroups/{rg}", operation="arm_get",
              action="Microsoft.Resources/subscriptions/resourceGroups/read")
def group_exists(sb, req: Request) -> Response:
    return Response(204 if get_resource_group(sb, req.params["sub"], req.params["rg"]) else 404)


@router.route("PUT", "/subscriptions/{sub}/resourcegroups/{rg}", operation="resource_group_create",
              action="Microsoft.Resources/subscriptions/resourceGroups/write")
def put_group(sb, req: Request) -> Response:
    sub, name = req.params["sub"], req.params["rg"]
    if not valid_rg_name(name):
        raise ArmError(400, "InvalidResourceGroup",
                       f"The provided resource group name '{name}' has these invalid characters: '{name}'. The name "
                       "can only be a letter, digit, '-', '.', '(', ')' or '_', up to 90 characters, and cannot end "
                       "with '.'.")
    body = req.json_object()
    location = require_location(body.get("location"))
    with sb.store.transaction():
        existing = get_resource_group(sb, sub, name)
        if existing and existing["location"] != location:
            raise ArmError(409, "InvalidResourceGroupLocation",
                           f"Invalid resource group location '{location}'. The Resource group already exists in "
                           f"location '{existing['location']}'.")
        group = {"id": rg_id(sub, existing["name"] if existing else name), "name": existing["name"] if existing else name,
                 "type": RG_TYPE, "location": location, "tags": require_tags(body),
                 "properties": {"provisioningState": "Succeeded"}}
        if body.get("managedBy"):
            group["managedBy"] = body["managedBy"]
        put(sb, group)
    return Response(200 if existing else 201, public(group))


@router.route("DELETE", "/subscriptions/{sub}/resourcegroups/{rg}", operation="resource_group_delete",
              action="Microsoft.Resources/subscriptions/resourceGroups/delete")
def delete_group(sb, req: Request) -> Response:
    sub, name = req.params["sub"], req.params["rg"]
    with sb.store.transaction():
        if get_resource_group(sb, sub, name) is None:
            raise ArmError(404, "ResourceGroupNotFound", f"Resource group '{name}' could not be found.")
        prefix = rg_id(sub, name).lower()
        for resource in sb.store.list(RESOURCE, key_prefix=prefix):
            rid = resource["id"].lower()
            if rid == prefix or rid.startswith(prefix + "/"):
                sb.store.delete(RESOURCE, resource["id"])
    return Response(200)


# Registered with this module: the generic resource lists, the providers and the cloud's metadata endpoints.
from . import cloud_metadata, resource_list, resource_providers  # noqa: E402,F401
