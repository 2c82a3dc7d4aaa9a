"""The Batch service API of each sandbox Batch account: what azure-batch's BatchClient talks to (2025-06-01).

Each account is served on its own HTTPS host:port, which is its `accountEndpoint` (BatchClient sends every
call to https://{accountEndpoint}). Served: pools (get, list, resize, stop resize), nodes (list, get), node counts,
jobs (create, get, list, delete), tasks (create, get, list), task counts and task files (list, get, properties).
The job, task and file routes are in batch_jobs.py, the resize routes in batch_resize.py; how tasks are
scheduled and run on nodes is in batch_tasks.py.

Authentication: bearer tokens for the Batch resource (the SDK asks for https://batch.core.windows.net//.default),
on accounts whose allowedAuthenticationModes include AAD. Authorization follows the actions Azure RBAC
gives Batch's data plane: reading pools and nodes needs Microsoft.Batch/batchAccounts/pools/read, resizing
a pool .../pools/write, node counts Microsoft.Batch/batchAccounts/read, reading jobs and tasks .../jobs/read, adding jobs and tasks
.../jobs/write, deleting a job .../jobs/delete, all on the account (Owner and Contributor have them,
Reader only the reads).
Errors have the Batch service's shape: {"odata.metadata", "code", "message": {"lang", "value"}, "values":
[{"key", "value"}]}, which the SDK reads into error.code, error.message and error.details.
"""

from __future__ import annotations

import email.utils
import re
import uuid
from datetime import datetime
from typing import Any

from ..arm import get, list_children, now_iso
from ..authz import permitted
from ..router import BATCH, ArmError, Request, Response, router
from ..server import plane_error_shapes
from . import batch_tasks as tasks
from .batch_nodes import NODE_COUNT_KEYS, pool_nodes

JSON = "application/json;odata=minimalmetadata"
ERROR_METADATA = "$metadata#Microsoft.Azure.Batch.Protocol.Entities.Container.errors/@Element"
ACCOUNT_READ = "Microsoft.Batch/batchAccounts/read"
POOLS_READ = "Microsoft.Batch/batchAccounts/pools/read"
JOBS_READ, JOBS_WRITE, JOBS_DELETE = ("Microsoft.Batch/batchAccounts/jobs/" + v for v in ("read", "write", "delete"))


# ---- wire helpers ---------------------------------------------------------------------------------------------
def base_url(req: Request) -> str:
    return f"https://{req.host}"


def _ids(req: Request, request_id: str | None = None) -> dict[str, str]:
    headers = {"request-id": request_id or str(uuid.uuid4()), "DataServiceVersion": "3.0"}
    if req.header("client-request-id"):
        headers["client-request-id"] = req.header("client-request-id")
    return headers


def service_error(req: Request, status: int, code: str, message: str, values: tuple[tuple[str, str], ...] = (),
                  headers: dict[str, str] | None = None) -> ArmError:
    """An error in the Batch service's shape; its message ends with RequestId and Time, as Batch's do."""
    request_id = str(uuid.uuid4())
    text = f"{message}\nRequestId:{request_id}\nTime:{now_iso()}"
    body: dict[str, Any] = {"odata.metadata": f"{base_url(req)}/{ERROR_METADATA}", "code": code,
                            "message": {"lang": "en-US", "value": text}}
    if values:
        body["values"] = [{"key": k, "value": v} for k, v in values]
    return ArmError(status, code, message, body=body, headers={**(headers or {}), **_ids(req, request_id)})


def _reshape(req: Request, err: ArmError) -> ArmError:
    """The pipeline's own errors (authentication, api-version, body, unknown path) in the Batch shape."""
    if err.status == 401:
        return service_error(req, 401, "AuthenticationFailed", "Server failed to authenticate the request. Make sure "
                             "the value of Authorization header is formed correctly including the signature.",
                             (("AuthenticationErrorDetail", err.message),), headers=err.headers)
    if err.code == "MissingApiVersionParameter":
        return service_error(req, 400, "MissingRequiredQueryParameter", "A query parameter that's mandatory for "
                             "this request is not specified.", (("QueryParameterName", "api-version"),))
    if err.code == "InvalidRequestContent":
        return service_error(req, 400, "InvalidRequestBody", "The specified Request Body is not syntactically valid.",
                             (("Reason", err.message),))
    return service_error(req, err.status, err.code, err.message, headers=err.headers)


plane_error_shapes[BATCH] = _reshape


def json_response(req: Request, body: dict[str, Any] | None, status: int = 200,
                  headers: dict[str, str] | None = None) -> Response:
    return Response(status, body, headers={**_ids(req), **(headers or {})}, content_type=JSON)


def created(req: Request, url: str, etag: str) -> Response:
    return Response(201, headers={**_ids(req), "ETag": etag, "Last-Modified": email.utils.formatdate(usegmt=True),
                                  "DataServiceId": url, "Location": url})


def rfc1123(iso: str) -> str:
    return email.utils.format_datetime(datetime.fromisoformat(iso[:19] + "+00:00"), usegmt=True)


def list_response(req: Request, kind: str, values: list[dict[str, Any]]) -> Response:
    # No odata.nextLink: the pager follows any it is given.
    return json_response(req, {"odata.metadata": f"{base_url(req)}/$metadata#{kind}", "value": values})


# ---- account, authorization -------------------------------------------------------------------------------------
def _account(sb, req: Request, action: str) -> dict[str, Any]:
    """The account this listener serves, after checking the caller may perform `action` on it."""
    account_id = sb.batch_account_for_host(req.host)
    account = get(sb, account_id) if account_id else None
    if account is None:
        raise service_error(req, 404, "AccountNotFound", "The specified account does not exist.")
    if "AAD" not in (account["properties"].get("allowedAuthenticationModes") or ["AAD"]):
        raise service_error(req, 401, "AuthenticationFailed", "Server failed to authenticate the request. Make sure "
                            "the value of Authorization header is formed correctly including the signature.",
                            (("AuthenticationErrorDetail", "The specified type of authentication Bearer is not "
                              "allowed for this account."),))
    if permitted(sb.store, req.principal.object_id, action, account["id"]) is None:
        raise service_error(req, 403, "AuthorizationFailure", "This request is not authorized to perform this "
                            "operation.")
    return account


def settled_account(sb, req: Request, action: str) -> tuple[dict[str, Any], dict[str, list[dict[str, Any]]]]:
    """(account, running tasks by node id) with the account's tasks scheduled as of now (in a transaction)."""
    account = _account(sb, req, action)
    return account, tasks.settle(sb, account)


# ---- pools and nodes --------------------------------------------------------------------------------------------
def _pool(sb, req: Request, account: dict[str, Any], name: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    pool_id = f"{account['id']}/pools/{name}"
    try:
        nodes = pool_nodes(sb, pool_id)
    except KeyError:
        raise service_error(req, 404, "PoolNotFound", "The specified pool does not exist.") from None
    return get(sb, pool_id), nodes


def _pools(sb, account: dict[str, Any]) -> list[tuple[dict[str, Any], list[dict[str, Any]]]]:
    """Every pool of the account with its nodes (a pool whose deletion just finished is left out)."""
    from .batch import POOL_TYPE
    out = []
    for record in list_children(sb, account["id"], POOL_TYPE):
        try:
            nodes = pool_nodes(sb, record["id"])
        except KeyError:
            continue
        out.append((get(sb, record["id"]), nodes))
    return out


def _data_etag(pool: dict[str, Any]) -> str:
    return re.search(r"0x[0-9A-Fa-f]+", pool["etag"]).group(0)  # ARM's W/"0x…" is the service's 0x…


def _pool_view(req: Request, pool: dict[str, Any]) -> dict[str, Any]:
    props = pool["properties"]
    scale = props["scaleSettings"]
    vm = props["deploymentConfiguration"]["virtualMachineConfiguration"]
    current = (props.get("currentDedicatedNodes", 0), props.get("currentLowPriorityNodes", 0))
    if "fixedScale" in scale:
        target = (scale["fixedScale"]["targetDedicatedNodes"], scale["fixedScale"]["targetLowPriorityNodes"])
    else:
        status = props.get("resizeOperationStatus") or {}
        target = (status.get("targetDedicatedNodes", current[0]), status.get("targetLowPriorityNodes", current[1]))
    view: dict[str, Any] = {
        "id": pool["name"], "url": f"{base_url(req)}/pools/{pool['name']}", "eTag": _data_etag(pool),
        "lastModified": props["lastModified"], "creationTime": props["creationTime"],
        "state": "deleting" if props.get("provisioningState") == "Deleting" else "active",
        "stateTransitionTime": props.get("provisioningStateTransitionTime", props["creationTime"]),
        "allocationState": props["allocationState"].lower(),
        "allocationStateTransitionTime": props["allocationStateTransitionTime"],
        "vmSize": props["vmSize"].lower(),
        "virtualMachineConfiguration": {"imageReference": vm["imageReference"], "nodeAgentSKUId": vm["nodeAgentSkuId"]},
        "resizeTimeout": scale.get("fixedScale", {}).get("resizeTimeout", "PT15M"),
        "currentDedicatedNodes": current[0], "currentLowPriorityNodes": current[1],
        "targetDedicatedNodes": target[0], "targetLowPriorityNodes": target[1],
        "enableAutoScale": "autoScale" in scale,
        "enableInterNodeCommunication": props.get("interNodeCommunication") == "Enabled",
        "taskSlotsPerNode": props.get("taskSlotsPerNode", 1),
        "taskSchedulingPolicy": {"nodeFillType": props.get("taskSchedulingPolicy", {}).get("nodeFillType",
                                                                                            "Spread").lower()},
    }
    errors = (props.get("resizeOperationStatus") or {}).get("errors")
    if errors and props["allocationState"] == "Steady":  # Batch reports them for the last resize, once steady
        view["resizeErrors"] = [{"code": e["code"], "message": e["message"]} for e in errors]
    if "autoScale" in scale:
        view.update(autoScaleFormula=scale["autoScale"]["formula"],
                    autoScaleEvaluationInterval=scale["autoScale"]["evaluationInterval"])
    if props.get("metadata"):
        view["metadata"] = props["metadata"]
    identity = pool.get("identity") or {}
    if identity.get("type") == "UserAssigned":
        view["identity"] = {"type": "UserAssigned", "userAssignedIdentities": [
            {"resourceId": rid, "clientId": v["clientId"], "principalId": v["principalId"]}
            for rid, v in identity["userAssignedIdentities"].items()]}
    return view


def _node_view(req: Request, pool: dict[str, Any], node: dict[str, Any], running: list[dict[str, Any]],
               history: dict[str, int]) -> dict[str, Any]:
    busy = bool(running) and node["state"] == "idle"
    vm = pool["properties"]["deploymentConfiguration"]["virtualMachineConfiguration"]
    url = f"{base_url(req)}/pools/{pool['name']}/nodes/{node['id']}"
    view: dict[str, Any] = {
        "id": node["id"], "url": url, "state": "running" if busy else node["state"], "schedulingState": "enabled",
        "stateTransitionTime": max([node["allocationTime"]] + [t["executionInfo"]["startTime"] for t in running]),
        "lastBootTime": node["allocationTime"], "allocationTime": node["allocationTime"],
        "ipAddress": f"10.0.0.{4 + int(node['id'][6:10], 16) % 250}", "affinityId": f"TVM:{node['id']}",
        "vmSize": pool["properties"]["vmSize"].lower(), "totalTasksRun": history.get("run", 0),
        "runningTasksCount": len(running), "runningTaskSlotsCount": len(running),
        "totalTasksSucceeded": history.get("succeeded", 0), "isDedicated": node["isDedicated"],
        "endpointConfiguration": {"inboundEndpoints": []},
        "nodeAgentInfo": {"version": "1.11.19", "lastUpdateTime": node["allocationTime"]},
        "virtualMachineInfo": {"imageReference": {**vm["imageReference"], "exactVersion": "24.04.202501010"}},
    }
    if running:
        view["recentTasks"] = [{"taskUrl": f"{base_url(req)}/jobs/{t['_sandbox']['job']}/tasks/{t['id']}",
                                "jobId": t["_sandbox"]["job"], "taskId": t["id"], "taskState": t["state"],
                                "executionInfo": dict(t["executionInfo"])} for t in running]
    return view


@router.route("GET", "/pools", operation="batch_pool_list", plane=BATCH)
def list_pools(sb, req: Request) -> Response:
    with sb.store.transaction():
        account, _ = settled_account(sb, req, POOLS_READ)
        views = [_pool_view(req, pool) for pool, _ in _pools(sb, account)]
    return list_response(req, "pools", views)


@router.route("GET", "/pools/{pool}", operation="batch_pool_get", plane=BATCH)
def get_pool(sb, req: Request) -> Response:
    with sb.store.transaction():
        account, _ = settled_account(sb, req, POOLS_READ)
        pool, _ = _pool(sb, req, account, req.params["pool"])
    view = _pool_view(req, pool)
    return json_response(req, {"odata.metadata": f"{base_url(req)}/$metadata#pools/@Element", **view},
                         headers={"ETag": view["eTag"], "Last-Modified": rfc1123(view["lastModified"])})


def _nodes(sb, req: Request) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    with sb.store.transaction():
        account, running = settled_account(sb, req, POOLS_READ)
        pool, nodes = _pool(sb, req, account, req.params["pool"])
        history = tasks.node_history(sb, account["id"])
    return pool, [_node_view(req, pool, n, running.get(n["id"], []), history.get(n["id"], {})) for n in nodes]


@router.route("GET", "/pools/{pool}/nodes", operation="batch_node_list", plane=BATCH)
def list_nodes(sb, req: Request) -> Response:
    return list_response(req, "nodes", _nodes(sb, req)[1])


@router.route("GET", "/pools/{pool}/nodes/{node}", operation="batch_node_get", plane=BATCH)
def get_node(sb, req: Request) -> Response:
    node = next((n for n in _nodes(sb, req)[1] if n["id"].lower() == req.params["node"].lower()), None)
    if node is None:
        raise service_error(req, 404, "NodeNotFound", "The specified node does not exist.")
    return json_response(req, {"odata.metadata": f"{base_url(req)}/$metadata#nodes/@Element", **node})


def _node_counts(pool_name: str, views: list[dict[str, Any]]) -> dict[str, Any]:
    def tally(dedicated: bool) -> dict[str, int]:
        counts = {key: 0 for key in NODE_COUNT_KEYS}
        for view in views:
            if view["isDedicated"] == dedicated:
                counts[next(k for k in NODE_COUNT_KEYS if k.lower() == view["state"])] += 1
        return {**counts, "total": sum(counts.values())}
    return {"poolId": pool_name, "dedicated": tally(True), "lowPriority": tally(False)}


@router.route("GET", "/nodecounts", operation="batch_node_counts", plane=BATCH)
def list_node_counts(sb, req: Request) -> Response:
    wanted = re.fullmatch(r"\s*poolId\s+eq\s+'([^']*)'\s*", req.query.get("$filter", ""), re.IGNORECASE)
    if req.query.get("$filter") and wanted is None:
        raise service_error(req, 400, "InvalidQueryParameterValue", "Value for one of the query parameters specified "
                            "in the request URI is invalid.", (("QueryParameterName", "$filter"),
                                                               ("Reason", "Filter on poolId eq '<pool id>' only.")))
    out = []
    with sb.store.transaction():
        account, running = settled_account(sb, req, ACCOUNT_READ)
        for pool, nodes in _pools(sb, account):
            if wanted and pool["name"].lower() != wanted.group(1).lower():
                continue
            out.append(_node_counts(pool["name"], [_node_view(req, pool, n, running.get(n["id"], []), {})
                                                   for n in nodes]))
    return list_response(req, "poolnodecounts", out)


from . import batch_jobs, batch_resize  # noqa: E402,F401 - job, task and resize routes, after the helpers they use
