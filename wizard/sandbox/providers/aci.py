"""Microsoft.ContainerInstance (2023-05-01): container groups, logs, start/stop/restart, delete.

Create-or-update is a long-running operation in every mode, as in Azure: 201 (200 for a redeploy) with the group
Pending and an Azure-AsyncOperation at
`/subscriptions/{sub}/providers/Microsoft.ContainerInstance/locations/{loc}/operations/{id}`. With no duration
(the default) it completes at the first look after that answer (lro.py, `at_first_look`), so the SDK polls once.
Containers start when the operation completes (wizard/sandbox/containers.py); the document itself, its validation
and identities are in aci_model.py. Choices where Azure's exact answer is not documented are marked "guess".
"""

from __future__ import annotations

from typing import Any

from .. import containers, lro
from ..arm import (
    delete,
    get,
    list_children,
    list_in_subscription,
    now_iso,
    page,
    provider_id,
    public,
    put,
    require_resource_group,
    require_tags,
)
from ..router import ArmError, Request, Response, not_found, router
from ..seed import demo_seeders
from .aci_model import (
    NAME,
    NS,
    TRANSITIONING,
    assign_public_ip,
    build_group,
    check_update,
    group_id,
    sync_system_identity,
)

BASE = "/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.ContainerInstance/containerGroups"
OPERATIONS = "/subscriptions/{sub}/providers/Microsoft.ContainerInstance/locations/{loc}/operations/{op}"


def _failing_image(group: dict[str, Any]) -> str | None:
    # The sandbox cannot pull anything; images under "invalid/" stand for an image Azure cannot pull.
    for c in group["properties"]["containers"]:
        if c["properties"]["image"].split("/")[0] == "invalid":
            return c["properties"]["image"]
    return None


@lro.finisher("aci_create")
def _finish_create(sb, op: dict[str, Any]) -> dict[str, Any] | None:
    group = get(sb, op["resourceId"])
    if group is None or group["_sandbox"].get("deployment") != op.get("deployment"):
        return None  # a later PUT replaced this deployment
    image = _failing_image(group)
    if image:
        group["properties"]["provisioningState"] = "Failed"
        for c in group["properties"]["containers"]:
            c["properties"]["instanceView"] = {
                "restartCount": 0, "currentState": {"state": "Waiting", "detailStatus": "ErrImagePull"},
                "events": [containers.event("Pulling", f'pulling image "{c["properties"]["image"]}"'),
                           containers.event("Failed", f'Failed to pull image "{c["properties"]["image"]}"', "Warning")]}
        put(sb, group)
        return {"code": "InaccessibleImage", "message": f"The image '{image}' in container group '{group['name']}' is "
                "not accessible. Please check the image and registry credential."}
    group["properties"]["provisioningState"] = "Succeeded"
    assign_public_ip(group)
    containers.start_group(sb, group, restart=op.get("update", False))
    put(sb, group)
    return None


@lro.finisher("aci_delete")
def _finish_delete(sb, op: dict[str, Any]) -> None:
    group = get(sb, op["resourceId"])
    if group is not None:
        _remove(sb, group)


def _remove(sb, group: dict[str, Any]) -> None:
    containers.forget_group(sb, group["id"])
    containers.clear_logs(sb, group)
    sync_system_identity(sb, dict(group, identity=None, _sandbox={}))
    delete(sb, group["id"])


def _async_headers(sb, req: Request, op: dict[str, Any], location: str) -> dict[str, str]:
    url = (f"{sb.arm_url}/subscriptions/{req.params['sub']}/providers/Microsoft.ContainerInstance/locations/"
           f"{location}/operations/{op['id']}?api-version={req.api_version}")
    return {"Azure-AsyncOperation": url, **lro.retry_after(sb)}


def require_group(sb, req: Request) -> dict[str, Any]:
    cg_id = group_id(req)
    lro.settle(sb, "aci_create", cg_id)
    lro.settle(sb, "aci_delete", cg_id)
    group = get(sb, cg_id)
    if group is None:
        raise not_found(NS, req.params["name"], req.params["rg"])
    return group


# ---- routes (specific templates first) ----------------------------------------------------------------------
# No RBAC action: a principal with a role on the resource group only polls this subscription-level URL (its SDK
# does), so none can be asked for here; the unguessable operation id is what protects it.
@router.route("GET", OPERATIONS, operation="arm_get")
def operation_status(sb, req: Request) -> Response:
    op = lro.poll(sb, req.params["op"])
    if op is None or not op["kind"].startswith("aci_"):
        raise ArmError(404, "OperationNotFound", f"The operation '{req.params['op']}' could not be found.")
    # ACI's status document, as recorded from Azure: the group's id, the status, the start and the group's events.
    group = get(sb, op["resourceId"])
    events = [e for c in (group or {}).get("properties", {}).get("containers", [])
              for e in (c["properties"].get("instanceView") or {}).get("events", [])]
    body: dict[str, Any] = {"id": op["resourceId"], "status": op["status"], "startTime": now_iso(op["started"]),
                            "properties": {"events": events}}
    if op["error"]:
        body["error"] = op["error"]
    # While in progress, tell the poller when to look again (1 s, never 0: the SDK would wait its default 30 s).
    return Response(200, body, headers=lro.retry_after(sb) if op["status"] == "InProgress" else {})


@router.route("GET", BASE + "/{name}/containers/{container}/logs", operation="aci_logs",
              action=NS + "/containers/logs/read")
def list_logs(sb, req: Request) -> Response:
    group = require_group(sb, req)
    name = req.params["container"]
    if not any(c["name"] == name for c in group["properties"]["containers"]):
        raise ArmError(404, "ContainerNotFound",  # guess
                       f"The container '{name}' in container group '{group['name']}' is not found.")
    lines = containers.read_log(sb, group["id"], name)
    tail = req.query.get("tail")
    if tail and tail.isdigit():
        lines = lines[-int(tail):] if int(tail) else []
    stamped = req.query.get("timestamps", "").lower() == "true"
    text = "".join(f"{at} {line}\n" if stamped else f"{line}\n" for at, line in lines)
    return Response(200, {"content": text})


@router.route("POST", BASE + "/{name}/restart", operation="aci_restart", action=NS + "/restart/action")
def restart(sb, req: Request) -> Response:
    with sb.store.transaction():
        group = require_group(sb, req)
        if group["properties"]["provisioningState"] in TRANSITIONING:
            raise ArmError(409, "ContainerGroupTransitioning",
                           f"The container group '{group['name']}' is still transitioning, please retry later.")
        image = _failing_image(group)
        if image:  # nothing to restart: the image never ran
            raise ArmError(400, "InaccessibleImage", f"The image '{image}' in container group '{group['name']}' is "
                           "not accessible. Please check the image and registry credential.")
        containers.start_group(sb, group, restart=True)
        put(sb, group)
    return Response(204)


@router.route("POST", BASE + "/{name}/stop", operation="aci_stop", action=NS + "/stop/action")
def stop(sb, req: Request) -> Response:
    with sb.store.transaction():
        group = require_group(sb, req)
        containers.stop_group(sb, group["id"])
        containers.mark_stopped(group)
        put(sb, group)
    return Response(204)


@router.route("POST", BASE + "/{name}/start", operation="aci_start", action=NS + "/start/action")
def start(sb, req: Request) -> Response:
    with sb.store.transaction():
        group = require_group(sb, req)
        if group["properties"]["instanceView"].get("state") != "Stopped":
            raise ArmError(409, "ContainerGroupNotStopped",  # guess
                           f"The container group '{group['name']}' is not stopped; only a stopped group can be started.")
        for c in group["properties"]["containers"]:
            c["properties"].pop("instanceView", None)  # a start is a fresh deployment: no restarts, no history
        containers.start_group(sb, group)
        put(sb, group)
    return Response(204)


def deploy(sb, req: Request, body: dict[str, Any]) -> tuple[dict | None, dict, dict]:
    """Create or redeploy a group: (the group before, the group now, the create operation)."""
    require_resource_group(sb, req.params["sub"], req.params["rg"])
    with sb.store.transaction():
        lro.settle(sb, "aci_create", group_id(req))
        existing = get(sb, group_id(req))
        group, secure = build_group(sb, req, body, existing)
        if existing is not None:
            check_update(existing, group)
            group["properties"]["provisioningState"] = "Updating"
            for new_c in group["properties"]["containers"]:  # keep counts and history across the redeploy
                old_c = next((c for c in existing["properties"]["containers"] if c["name"] == new_c["name"]), None)
                if old_c and old_c["properties"].get("instanceView"):
                    new_c["properties"]["instanceView"] = old_c["properties"]["instanceView"]
            group["properties"]["instanceView"] = existing["properties"].get("instanceView") or \
                group["properties"]["instanceView"]
        sync_system_identity(sb, group)
        containers.keep_secure_env(sb, group["id"], secure)
        deployment = group["_sandbox"]["deployment"] = group["_sandbox"].get("deployment", 0) + 1
        put(sb, group)
        op = lro.start(sb, "aci_create", group["id"], sb.realism.lro_duration("aci_create"), at_first_look=True,
                       update=existing is not None, deployment=deployment)
        return existing, get(sb, group["id"]), op


@router.route("PUT", BASE + "/{name}", operation="aci_create", action=NS + "/write")
def create_or_update(sb, req: Request) -> Response:
    name = req.params["name"]
    if not NAME.match(name) or "--" in name:
        raise ArmError(400, "InvalidContainerGroupName",  # guess for the code; the rule is the documented one
                       f"The container group name '{name}' is invalid. A container group name must contain no more "
                       "than 63 characters, must match the regex '[a-z0-9]([-a-z0-9]*[a-z0-9])?' (e.g. 'my-name') and "
                       "cannot contain consecutive hyphens.")
    existing, group, op = deploy(sb, req, req.json_object())
    return Response(200 if existing is not None else 201, public(group),
                    headers=_async_headers(sb, req, op, group["location"]))


@router.route("PATCH", BASE + "/{name}", operation="aci_update", action=NS + "/write")
def update_tags(sb, req: Request) -> Response:
    body = req.json_object()
    with sb.store.transaction():
        group = require_group(sb, req)
        if "tags" in body:  # the API's PATCH model is tags only: anything else is ignored, as in Azure
            group["tags"] = require_tags(body)
        put(sb, group)
    return Response(200, public(group))


@router.route("GET", BASE + "/{name}", operation="arm_get", action=NS + "/read")
def get_group(sb, req: Request) -> Response:
    return Response(200, public(require_group(sb, req)))


@router.route("DELETE", BASE + "/{name}", operation="aci_group_delete", action=NS + "/delete")
def delete_group(sb, req: Request) -> Response:
    with sb.store.transaction():
        try:
            group = require_group(sb, req)
        except ArmError:
            return Response(204)
        duration = sb.realism.lro_duration("aci_delete")
        if duration <= 0 and not sb.realism.held("lro:aci_delete", group["id"]):
            _remove(sb, group)
            return Response(200, public(group))
        containers.stop_group(sb, group["id"])
        group["properties"]["provisioningState"] = "Deleting"
        put(sb, group)
        op = lro.start(sb, "aci_delete", group["id"], duration)
    return Response(202, headers=_async_headers(sb, req, op, group["location"]))


@router.route("GET", BASE, operation="arm_get", action=NS + "/read")
def list_by_resource_group(sb, req: Request) -> Response:
    require_resource_group(sb, req.params["sub"], req.params["rg"])
    parent = f"/subscriptions/{req.params['sub']}/resourceGroups/{req.params['rg']}/providers/Microsoft.ContainerInstance"
    return Response(200, page(_settled(sb, list_children(sb, parent, NS))))


@router.route("GET", "/subscriptions/{sub}/providers/Microsoft.ContainerInstance/containerGroups", operation="arm_get",
              action=NS + "/read")
def list_by_subscription(sb, req: Request) -> Response:
    return Response(200, page(_settled(sb, list_in_subscription(sb, req.params["sub"], NS))))


def _settled(sb, groups: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for g in groups:
        lro.settle(sb, "aci_create", g["id"])
        lro.settle(sb, "aci_delete", g["id"])
        fresh = get(sb, g["id"])
        if fresh is not None:
            out.append(fresh)
    return out


# ---- demo seed ----------------------------------------------------------------------------------------------
def _seed_prefect_worker(sb) -> None:
    """A running Prefect worker in the demo tenant, with no identity yet (the wizard's ACI tutorial adds one)."""
    sub = sb.subscription_ids[0]
    params = {"sub": sub, "rg": "rg-prefect-demo", "name": "cg-prefect-worker"}
    req = Request("PUT", provider_id(sub, params["rg"], NS, params["name"]), {}, {}, b"", params=params)
    _, _, op = deploy(sb, req, {"location": "eastus", "tags": {"workload": "prefect"}, "properties": {
        "osType": "Linux", "restartPolicy": "Always",
        "containers": [{"name": "prefect-worker", "properties": {
            "image": "prefecthq/prefect:3-latest", "command": ["prefect", "worker", "start", "--pool", "aci-pool"],
            "resources": {"requests": {"cpu": 1, "memoryInGB": 1.5}}}}]}})
    lro.poll(sb, op["id"])  # the demo tenant starts with the worker running: nobody is there to poll


demo_seeders.append(_seed_prefect_worker)
