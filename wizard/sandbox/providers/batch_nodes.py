"""Inside a Batch pool: its nodes, and which identities each one booted with.

Azure gives a node the pool's identities when the node is allocated and never updates them: "only the new
vms which are created after the pool shrinks to 0 will have the updated identities" (AZURE_FACTS B2). The
sandbox keeps node records in the pool's private "_sandbox" bookkeeping; each node is an IMDS caller that
serves tokens only for the identities it booted with. The Batch service's rules for pools are in batch_rules.py.

Resizes follow the clock without threads: a resize stores its end time and target counts, and every read
or write of the pool first settles it (`settle`), removing leaving nodes and allocating new ones with the
pool's identities at that moment. A stopped resize (`stop_resize`) settles at the nodes the pool has then.

ARM has no field that says which identities the nodes hold, so that is read through `pool_nodes`,
`node_identity_drift` and the sandbox-only endpoint GET /_sandbox/batch/nodes?poolId=<pool ARM id>.
Node counts exist only in the Batch data plane (PoolNodeCounts), so the endpoint serves them in that shape.
"""

from __future__ import annotations

import secrets
import time
from typing import Any

from ..arm import get, now_iso
from ..router import ArmError, Request, Response, router
from . import imds

# The data plane's node states, in PoolNodeCounts order (camel-cased there as below).
NODE_COUNT_KEYS = ("creating", "deallocated", "deallocating", "idle", "leavingPool", "offline", "preempted",
                   "rebooting", "reimaging", "running", "starting", "startTaskFailed", "unknown", "unusable",
                   "upgradingOS", "waitingForStartTask")


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
    status = props.get("resizeOperationStatus")
    if status is not None:
        status.pop("errors", None)  # errors describe the last resize only
        if resize.get("stopped"):
            # Batch's resize error for a stopped resize (the code is Batch's; the message is a guess).
            status["errors"] = [{"code": "ResizeStopped", "message": "Desired number of nodes could not be "
                                 "allocated as the resize was stopped by the user"}]
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


def stop_resize(sb, pool: dict[str, Any]) -> bool:
    """Stop an unfinished resize (False if the pool is Steady). The pool keeps the nodes it has now: nodes already
    leaving go, nodes not yet allocated never come; the resize's holds no longer apply. The sandbox's stop takes no
    time, so the pool goes from Resizing to Steady without the Stopping that Azure may show for a moment."""
    state = _state(pool)
    resize = state.get("resize")
    if not resize:
        return False
    staying = [n for n in state["nodes"] if n["state"] != "leavingpool"]
    now = time.time()
    resize.update(dedicated=_count(staying, True), lowPriority=_count(staying, False), until=now, kinds=[],
                  stopped=True)
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
