"""Inside a Batch pool: the Batch service's rules (scale settings, identities, errors) and its nodes.

Nodes: which VMs a pool has, and which identities each one booted with.

Azure gives a node the pool's identities when the node is allocated and never updates them: "only the new
vms which are created after the pool shrinks to 0 will have the updated identities" (AZURE_FACTS B2). The
sandbox keeps node records in the pool's private "_sandbox" bookkeeping; each node is an IMDS caller that
serves tokens only for the identities it booted with.

Resizes follow the clock without threads: a resize stores its end time and target counts, and every read
or write of the pool first settles it (`settle`), removing leaving nodes and allocating new ones with the
pool's identities at that moment.

ARM has no field that says which identities the nodes hold, so that is read through `pool_nodes`,
`node_identity_drift` and the sandbox-only endpoint GET /_sandbox/batch/nodes?poolId=<pool ARM id>.
Node counts exist only in the Batch data plane (PoolNodeCounts), so the endpoint serves them in that shape.
"""

from __future__ import annotations

import re
import secrets
import time
import uuid
from typing import Any

from ..arm import get, now_iso, parse_id
from ..router import ArmError, Request, Response, router
from . import imds

ACCOUNT_TYPE = "Microsoft.Batch/batchAccounts"
POOL_TYPE = ACCOUNT_TYPE + "/pools"

# The data plane's node states, in PoolNodeCounts order (camel-cased there as below).
NODE_COUNT_KEYS = ("creating", "deallocated", "deallocating", "idle", "leavingPool", "offline", "preempted",
                   "rebooting", "reimaging", "running", "starting", "startTaskFailed", "unknown", "unusable",
                   "upgradingOS", "waitingForStartTask")


# ---- Batch service rules and errors --------------------------------------------------------------------
ASSIGN_ACTION = "Microsoft.ManagedIdentity/userAssignedIdentities/assign/action"
UAI_TYPE = "microsoft.managedidentity/userassignedidentities"


def batch_error(status: int, code: str, message: str, details: tuple[tuple[str, str], ...] = ()) -> ArmError:
    """An error raised by the Batch service behind ARM, in its shape."""
    body: dict[str, Any] = {"code": code, "message": f"{message}\nRequestId:{uuid.uuid4()}\nTime:{now_iso()}",
                            "target": "BatchAccount"}
    if details:
        body["details"] = [{"code": k, "message": v} for k, v in details]
    return ArmError(status, code, message, body={"error": body})


def invalid_property(name: str, path: str, reason: str, value: Any = None) -> ArmError:
    details = (("Reason", reason), ("PropertyName", name), ("PropertyPath", path))
    if value is not None:
        details += (("PropertyValue", str(value)),)
    return batch_error(400, "InvalidPropertyValue",
                       "The value provided for one of the properties in the request body is invalid.", details)


def missing_property(name: str, path: str) -> ArmError:
    return batch_error(400, "MissingRequiredProperty", "A required property was not specified in the request body.",
                       (("PropertyName", name), ("PropertyPath", path)))


def validate_new_pool(given: dict[str, Any]) -> None:
    """Pools need a VM size and a Virtual Machine Configuration (image + node agent SKU)."""
    if not isinstance(given.get("vmSize"), str) or not given["vmSize"]:
        raise missing_property("vmSize", "properties.vmSize")
    config = given.get("deploymentConfiguration")
    vm_config = config.get("virtualMachineConfiguration") if isinstance(config, dict) else None
    if not isinstance(vm_config, dict):
        raise missing_property("virtualMachineConfiguration",
                               "properties.deploymentConfiguration.virtualMachineConfiguration")
    if not isinstance(vm_config.get("imageReference"), dict) or not vm_config["imageReference"]:
        raise missing_property("imageReference",
                               "properties.deploymentConfiguration.virtualMachineConfiguration.imageReference")
    if not isinstance(vm_config.get("nodeAgentSkuId"), str) or not vm_config["nodeAgentSkuId"]:
        raise missing_property("nodeAgentSkuId",
                               "properties.deploymentConfiguration.virtualMachineConfiguration.nodeAgentSkuId")
    slots = given.get("taskSlotsPerNode", 1)
    if not isinstance(slots, int) or isinstance(slots, bool) or not 1 <= slots <= 256:
        raise invalid_property("taskSlotsPerNode", "properties.taskSlotsPerNode",
                               "taskSlotsPerNode must be between 1 and 256.", slots)
    if given.get("interNodeCommunication", "Disabled") not in ("Enabled", "Disabled"):
        raise invalid_property("interNodeCommunication", "properties.interNodeCommunication",
                               "interNodeCommunication must be 'Enabled' or 'Disabled'.",
                               given["interNodeCommunication"])


def normalise_scale(value: Any) -> dict[str, Any]:
    """Validated scale settings with the service's defaults (no settings = fixed scale of 0 nodes)."""
    if value is None:
        value = {}
    if not isinstance(value, dict):
        raise invalid_property("scaleSettings", "properties.scaleSettings", "scaleSettings must be an object.")
    fixed, auto = value.get("fixedScale"), value.get("autoScale")
    if fixed and auto:
        raise invalid_property("scaleSettings", "properties.scaleSettings",
                               "Specify either fixedScale or autoScale, not both.")
    if auto:
        if not isinstance(auto, dict) or not isinstance(auto.get("formula"), str) or not auto["formula"].strip():
            raise missing_property("formula", "properties.scaleSettings.autoScale.formula")
        return {"autoScale": {"formula": auto["formula"], "evaluationInterval": auto.get("evaluationInterval") or "PT15M"}}
    fixed = fixed or {}
    out: dict[str, Any] = {}
    for key in ("targetDedicatedNodes", "targetLowPriorityNodes"):
        count = fixed.get(key) or 0
        if not isinstance(count, int) or isinstance(count, bool) or count < 0:
            raise invalid_property(key, f"properties.scaleSettings.fixedScale.{key}",
                                   f"{key} must be a whole number of 0 or more.", count)
        out[key] = count
    out["resizeTimeout"] = fixed.get("resizeTimeout") or "PT15M"
    if fixed.get("nodeDeallocationOption"):
        if fixed["nodeDeallocationOption"] not in ("Requeue", "Terminate", "TaskCompletion", "RetainedData"):
            raise invalid_property("nodeDeallocationOption", "properties.scaleSettings.fixedScale.nodeDeallocationOption",
                                   "Use Requeue, Terminate, TaskCompletion or RetainedData.",
                                   fixed["nodeDeallocationOption"])
        out["nodeDeallocationOption"] = fixed["nodeDeallocationOption"]
    return {"fixedScale": out}


def evaluate_scale(pool: dict[str, Any]) -> tuple[int, int, str, str]:
    """(dedicated, low-priority, deallocation option, resize timeout) the scale settings ask for now.

    An autoscale formula is evaluated only for constant assignments ($TargetDedicatedNodes=2); anything else
    evaluates to 0, as a formula driven by pending tasks would on an idle account.
    """
    props = pool["properties"]
    scale = props["scaleSettings"]
    if "autoScale" in scale:
        formula = scale["autoScale"]["formula"]

        def constant(var: str) -> int:
            m = re.search(rf"\${var}\s*=\s*(\d+)\s*(;|$)", formula, re.IGNORECASE | re.MULTILINE)
            return int(m.group(1)) if m else 0
        dedicated, low = constant("TargetDedicatedNodes"), constant("TargetLowPriorityNodes")
        props["autoScaleRun"] = {"evaluationTime": now_iso(), "results": f"$TargetDedicatedNodes={dedicated};"
                                 f"$TargetLowPriorityNodes={low};$NodeDeallocationOption=requeue"}
        return dedicated, low, "Requeue", "PT15M"
    fixed = scale["fixedScale"]
    return (fixed["targetDedicatedNodes"], fixed["targetLowPriorityNodes"],
            fixed.get("nodeDeallocationOption", "Requeue"), fixed["resizeTimeout"])


def _without_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_nulls(v) for v in value]
    return value


def check_immutable(props: dict[str, Any], given: dict[str, Any]) -> None:
    """An update may restate, but not change, the VM size, image or network of a pool."""
    for key in ("vmSize", "deploymentConfiguration", "networkConfiguration"):
        if key not in given:
            continue
        old, new = props.get(key), given[key]
        same = (str(old).lower() == str(new).lower()) if key == "vmSize" else _without_nulls(old) == _without_nulls(new)
        if not same:
            raise batch_error(400, "PropertyCannotBeUpdated", "A property that cannot be updated was specified as part "
                              "of the request.", (("Reason", "A property that cannot be updated was specified as part "
                                                  "of the request."), ("PropertyName", key),
                                                 ("PropertyPath", f"properties.{key}")))


def parse_pool_identity(sb, req: Request | None, body: Any, owner: str = "pools") -> dict[str, Any]:
    """The identity block as stored and answered: UserAssigned (ids with principalId/clientId) or None."""
    if not isinstance(body, dict):
        raise invalid_property("identity", "identity", "identity must be an object with 'type' and "
                               "'userAssignedIdentities'.")
    raw_type, ids = body.get("type"), body.get("userAssignedIdentities")
    kind = str(raw_type or "").replace(" ", "").lower()
    if kind == "none" and owner == "pools":
        if ids:
            raise invalid_property("userAssignedIdentities", "identity.userAssignedIdentities",
                                   "userAssignedIdentities must be empty when the identity type is 'None'.")
        return {"type": "None"}
    if "systemassigned" in kind and owner == "pools":
        raise invalid_property("type", "identity.type", "Batch pools support only user-assigned managed identities: "
                               "use identity type 'UserAssigned' (or 'None' to remove them). A system-assigned "
                               "identity cannot be used on a pool.", raw_type)
    if kind != "userassigned":
        raise invalid_property("type", "identity.type", "The identity type must be 'UserAssigned' or 'None'.", raw_type)
    if not isinstance(ids, dict) or not ids:
        raise ArmError(400, "MissingIdentityIds", "The identity ids must not be null or empty for 'UserAssigned' "
                       "identity type.")
    for rid, value in ids.items():
        parsed = parse_id(rid)
        if not rid.startswith("/subscriptions/") or parsed.get("type", "").lower() != UAI_TYPE \
                or not parsed.get("name") or "resourceGroup" not in parsed:
            raise ArmError(400, "LinkedInvalidPropertyId", f"Property id '{rid}' at path 'identity.userAssigned"
                           "Identities' is invalid. Expect fully qualified resource Id that start with "
                           "'/subscriptions/{subscriptionId}' or '/providers/{resourceProviderNamespace}/'.")
        if value is not None and not isinstance(value, dict):
            raise ArmError(400, "InvalidIdentityValues", f"Invalid value for the identities '{rid}'. The "
                           "'UserAssignedIdentities' property values should be empty objects.")
    if req is not None and req.principal is not None:
        # ARM's linked access check: assigning an identity needs .../assign/action on that identity.
        from ..authz import permitted
        denied = [rid for rid in ids if permitted(sb.store, req.principal.object_id, ASSIGN_ACTION, rid) is None]
        if denied:
            raise ArmError(403, "LinkedAuthorizationFailed", f"The client '{req.principal.app_id}' with object id "
                           f"'{req.principal.object_id}' has permission to perform action '{POOL_TYPE}/write' on "
                           f"scope '{req.path.rstrip('/')}'; however, it does not have permission to perform "
                           f"action(s) '{ASSIGN_ACTION}' on the linked scope(s) '{','.join(denied)}' (respectively) "
                           "or the linked scope(s) are invalid.")
    resolved: dict[str, Any] = {}
    for rid in ids:
        identity = get(sb, rid)
        if identity is None:
            target = req.path.rstrip("/") if req is not None else "the resource"
            raise ArmError(400, "FailedIdentityOperation", f"Identity operation for resource '{target}' failed with "
                           "error 'Failed to perform resource identity operation. Status: 'NotFound'. Response: "
                           "'{\"error\":{\"code\":\"NotFound\",\"message\":\"Resource '" + rid + "' does not "
                           "exist or one of its ancestor resources does not exist.\"}}'.'.")
        if rid.lower() not in {r.lower() for r in resolved}:
            resolved[rid] = {"principalId": identity["properties"]["principalId"],
                             "clientId": identity["properties"]["clientId"]}
    return {"type": "UserAssigned", "userAssignedIdentities": resolved}



# ---- nodes -------------------------------------------------------------------------------------------
def pool_identity_ids(pool: dict[str, Any]) -> list[str]:
    identity = pool.get("identity") or {}
    if identity.get("type") != "UserAssigned":
        return []
    return list((identity.get("userAssignedIdentities") or {}).keys())


def _state(pool: dict[str, Any]) -> dict[str, Any]:
    return pool.setdefault("_sandbox", {}).setdefault("batch", {"nodes": [], "resize": None})


def _new_node(sb, pool: dict[str, Any], dedicated: bool, at: float) -> dict[str, Any]:
    # Real node ids look like tvmps_<64 hex>_d (dedicated) or _p (Spot/low-priority).
    node_id = f"tvmps_{secrets.token_hex(32)}_{'d' if dedicated else 'p'}"
    identities = pool_identity_ids(pool)
    url = imds.register_caller(sb, f"batch:{pool['id']}:{node_id}", identities)
    return {"id": node_id, "state": "idle", "isDedicated": dedicated, "identities": identities,
            "imdsCaller": url.rstrip("/").rsplit("/", 1)[-1], "allocationTime": now_iso(at),
            "stateTransitionTime": now_iso(at)}


def _caller_url(sb, node: dict[str, Any]) -> str:
    # Built on read: the IMDS listener's port changes when the sandbox restarts.
    return f"{sb.imds_url}/_callers/{node['imdsCaller']}"


def _remove_node(sb, node: dict[str, Any]) -> None:
    imds.unregister_caller(sb, _caller_url(sb, node))


def _count(nodes: list[dict[str, Any]], dedicated: bool) -> int:
    return sum(1 for n in nodes if n["isDedicated"] == dedicated)


def settle(sb, pool: dict[str, Any], now: float | None = None) -> bool:
    """Finish a due resize (nodes leave, new nodes boot with the pool's identities). True if it changed."""
    state = _state(pool)
    resize = state.get("resize")
    now = time.time() if now is None else now
    if not resize or any(sb.realism.pending(f"lro:{kind}", resize["started"], resize["until"] - resize["started"],
                                            key=pool["id"], now=now) for kind in resize.get("kinds", ())) \
            or now < resize["until"]:
        return False
    kept: list[dict[str, Any]] = []
    for dedicated, target in ((True, resize["dedicated"]), (False, resize["lowPriority"])):
        nodes = [n for n in state["nodes"] if n["isDedicated"] == dedicated]
        for node in nodes:
            if node["state"] == "leavingpool" or len([k for k in kept if k["isDedicated"] == dedicated]) >= target:
                _remove_node(sb, node)
            else:
                kept.append(node)
        while _count(kept, dedicated) < target:
            kept.append(_new_node(sb, pool, dedicated, resize["until"]))
    state["nodes"], state["resize"] = kept, None
    props = pool["properties"]
    props["currentDedicatedNodes"] = _count(kept, True)
    props["currentLowPriorityNodes"] = _count(kept, False)
    props["allocationState"] = "Steady"
    props["allocationStateTransitionTime"] = now_iso(resize["until"])
    return True


def resize_target(pool: dict[str, Any]) -> tuple[int, int] | None:
    """The (dedicated, low-priority) counts an unfinished resize is heading to, or None when Steady."""
    resize = _state(pool).get("resize")
    return (resize["dedicated"], resize["lowPriority"]) if resize else None


def start_resize(sb, pool: dict[str, Any], dedicated: int, low_priority: int, *, deallocation: str = "Requeue",
                 resize_timeout: str = "PT15M", duration_s: float | None = None) -> bool:
    """Begin resizing to the targets (the caller settles first and refuses a second concurrent resize).

    Shrinking marks the surplus nodes leavingpool at once; new nodes are allocated when the resize ends.
    Returns False when the pool already has exactly these counts.
    """
    state = _state(pool)
    nodes = state["nodes"]
    have = (_count(nodes, True), _count(nodes, False))
    if have == (dedicated, low_priority):
        return False
    now = time.time()
    grow = dedicated > have[0] or low_priority > have[1]
    shrink = dedicated < have[0] or low_priority < have[1]
    if duration_s is None:
        duration_s = max(sb.realism.lro_duration("batch_resize_up") if grow else 0.0,
                         sb.realism.lro_duration("batch_resize_down") if shrink else 0.0)
    for is_dedicated, target in ((True, dedicated), (False, low_priority)):
        mine = [n for n in nodes if n["isDedicated"] == is_dedicated]
        for node in mine[target:] if target < len(mine) else []:
            node["state"], node["stateTransitionTime"] = "leavingpool", now_iso(now)
    state["resize"] = {"started": now, "until": now + max(0.0, duration_s), "dedicated": dedicated,
                       "lowPriority": low_priority,
                       "kinds": [k for k, on in (("batch_resize_up", grow), ("batch_resize_down", shrink)) if on]}
    props = pool["properties"]
    props["allocationState"] = "Resizing"
    props["allocationStateTransitionTime"] = now_iso(now)
    props["resizeOperationStatus"] = {"startTime": now_iso(now), "targetDedicatedNodes": dedicated,
                                      "targetLowPriorityNodes": low_priority, "nodeDeallocationOption": deallocation,
                                      "resizeTimeout": resize_timeout}
    settle(sb, pool, now)
    return True


def release_all(sb, pool: dict[str, Any]) -> None:
    """The pool is gone: its nodes stop answering IMDS."""
    state = _state(pool)
    for node in state["nodes"]:
        _remove_node(sb, node)
    state["nodes"], state["resize"] = [], None


def mark_all_leaving(pool: dict[str, Any]) -> None:
    for node in _state(pool)["nodes"]:
        node["state"], node["stateTransitionTime"] = "leavingpool", now_iso()


# ---- reading nodes (engine verify step, tests, the /_sandbox endpoint) ---------------------------------
def _settled_pool(sb, pool_id: str) -> dict[str, Any] | None:
    from .. import lro
    from ..arm import put
    lro.settle(sb, "batch_pool_delete", pool_id)
    with sb.store.transaction():
        pool = get(sb, pool_id)
        if pool is not None and settle(sb, pool):
            put(sb, pool)
    return pool


def _node_view(sb, node: dict[str, Any]) -> dict[str, Any]:
    return {"id": node["id"], "state": node["state"], "isDedicated": node["isDedicated"],
            "identities": list(node["identities"]), "imds_url": _caller_url(sb, node),
            "allocationTime": node["allocationTime"]}


def pool_nodes(sb, pool_id: str) -> list[dict[str, Any]]:
    """The pool's current nodes: id, state, isDedicated, identities (as booted), imds_url, allocationTime."""
    pool = _settled_pool(sb, pool_id)
    if pool is None:
        raise KeyError(f"no Batch pool {pool_id}")
    return [_node_view(sb, n) for n in _state(pool)["nodes"]]


def _drift(pool: dict[str, Any]) -> dict[str, Any]:
    wanted = pool_identity_ids(pool)
    wanted_lower = {w.lower() for w in wanted}
    missing, extra = {}, {}
    for node in _state(pool)["nodes"]:
        held = {i.lower() for i in node["identities"]}
        lacks = [w for w in wanted if w.lower() not in held]
        stale = [i for i in node["identities"] if i.lower() not in wanted_lower]
        if lacks:
            missing[node["id"]] = lacks
        if stale:
            extra[node["id"]] = stale
    return {"poolIdentities": wanted, "missing": missing, "extra": extra, "inSync": not missing and not extra}


def node_identity_drift(sb, pool_id: str) -> dict[str, Any]:
    """Which current nodes lack which pool identities ("missing"), and which still hold removed ones ("extra")."""
    pool = _settled_pool(sb, pool_id)
    if pool is None:
        raise KeyError(f"no Batch pool {pool_id}")
    return _drift(pool)


def node_counts(pool: dict[str, Any]) -> dict[str, Any]:
    """Node counts in the Batch data plane's PoolNodeCounts shape."""
    def tally(dedicated: bool) -> dict[str, int]:
        counts = {key: 0 for key in NODE_COUNT_KEYS}
        for node in _state(pool)["nodes"]:
            if node["isDedicated"] == dedicated:
                key = next(k for k in NODE_COUNT_KEYS if k.lower() == node["state"].lower())
                counts[key] += 1
        counts["total"] = sum(counts.values())
        return counts
    return {"poolId": pool["name"], "dedicated": tally(True), "lowPriority": tally(False)}


def _pool_id_scope(req: Request) -> str:
    pool_id = req.query.get("poolid", "")
    if not pool_id.startswith("/subscriptions/"):
        raise ArmError(400, "InvalidQueryParameterValue",
                       "The query parameter 'poolId' must be the ARM id of a Batch pool, e.g. /subscriptions/<sub>/"
                       "resourceGroups/<rg>/providers/Microsoft.Batch/batchAccounts/<account>/pools/<pool>.")
    return pool_id


@router.route("GET", "/_sandbox/batch/nodes", operation="arm_get", action="Microsoft.Batch/batchAccounts/pools/read",
              scope=_pool_id_scope, needs_api_version=False)
def get_nodes(sb, req: Request) -> Response:
    pool_id = _pool_id_scope(req)
    pool = _settled_pool(sb, pool_id)
    if pool is None:
        raise ArmError(404, "PoolNotFound", "The specified pool does not exist.")
    return Response(200, {"poolId": pool["id"], "allocationState": pool["properties"]["allocationState"],
                          "nodes": [_node_view(sb, n) for n in _state(pool)["nodes"]],
                          "nodeCounts": node_counts(pool), "identityDrift": _drift(pool)})
