"""The Batch service API's pool resize and stop-resize (POST /pools/{id}/resize, /pools/{id}/stopresize).

Batch's rules (Pools - Resize Pool, Pools - Stop Pool Resize in the Batch REST reference):
- a pool can be resized only while its allocationState is steady; otherwise 409 PoolBeingResized. A pool with
  automatic scaling cannot be resized (409), nor one being deleted (409 PoolBeingDeleted);
- the answer is 202 with no body; the pool goes from steady to resizing, and back to steady when the nodes have
  come or gone (after `realism.lro_duration("batch_resize_up"/"batch_resize_down")`, or while a test holds
  `lro:batch_resize_up`/`lro:batch_resize_down` on the pool's ARM id);
- resizeTimeout must be at least 5 minutes (400 InvalidPropertyValue);
- stopping a resize keeps the nodes the pool has at that moment; the pool's resize errors then say ResizeStopped.
The targets a resize asks for become the pool's fixed scale settings, as the management plane shows them.
The SDK's begin_resize_pool / begin_stop_pool_resize poll get_pool until allocationState is steady.
Choices where Batch's exact answer is not documented are marked "guess".
"""

from __future__ import annotations

import re
from typing import Any

from ..arm import now_iso, put
from ..router import BATCH, Request, Response, router
from . import batch_nodes as nodes
from .batch_data import base_url, json_response, rfc1123, service_error, settled_account

POOLS_WRITE = "Microsoft.Batch/batchAccounts/pools/write"
DEALLOCATION = {"requeue": "Requeue", "terminate": "Terminate", "taskcompletion": "TaskCompletion",
                "retaineddata": "RetainedData"}
MIN_RESIZE_TIMEOUT_S = 300
_DURATION = re.compile(r"^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$")


def _invalid(req: Request, name: str, value: Any, reason: str):
    return service_error(req, 400, "InvalidPropertyValue", "The value provided for one of the properties in the "
                         "request body is invalid.", (("PropertyName", name), ("PropertyValue", str(value)),
                                                     ("Reason", reason)))


def _seconds(text: str) -> float | None:
    m = _DURATION.match(text) if isinstance(text, str) and text not in ("P", "PT") else None
    if m is None:
        return None
    days, hours, minutes, seconds = (float(g or 0) for g in m.groups())
    return ((days * 24 + hours) * 60 + minutes) * 60 + seconds


def _count(req: Request, body: dict[str, Any], name: str) -> int:
    # An omitted target is 0 (guess: the REST reference marks both optional and gives no default).
    value = body.get(name, 0)
    if value is None:
        return 0
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise _invalid(req, name, value, f"{name} must be a whole number of 0 or more.")
    return value


def _load(sb, req: Request) -> tuple[dict[str, Any], dict[str, Any]]:
    """(pool record, its data-plane eTag) with resizes and deletion settled; 404 PoolNotFound if gone."""
    from .batch import load_pool
    account, _ = settled_account(sb, req, POOLS_WRITE)
    pool = load_pool(sb, f"{account['id']}/pools/{req.params['pool']}")
    if pool is None:
        raise service_error(req, 404, "PoolNotFound", "The specified pool does not exist.")
    if pool["properties"].get("provisioningState") == "Deleting":
        raise service_error(req, 409, "PoolBeingDeleted", "The specified pool has been marked for deletion and is "
                            "being reclaimed.")
    etag = re.search(r"0x[0-9A-Fa-f]+", pool["etag"]).group(0)
    wanted = req.header("If-Match").strip()
    if wanted and wanted not in ("*", etag):
        raise service_error(req, 412, "ConditionNotMet", "The condition specified using HTTP conditional header(s) "
                            "is not met.")
    return pool, etag


def _accepted(sb, req: Request, pool: dict[str, Any]) -> Response:
    """202 with the headers Batch sends: the pool's new ETag, Last-Modified and DataServiceId."""
    from .batch import etag_after
    pool["etag"] = etag_after(pool["etag"])
    put(sb, pool)
    etag = re.search(r"0x[0-9A-Fa-f]+", pool["etag"]).group(0)
    return json_response(req, None, 202, {"ETag": etag, "Last-Modified": rfc1123(pool["properties"]["lastModified"]),
                                          "DataServiceId": f"{base_url(req)}/pools/{pool['name']}"})


@router.route("POST", "/pools/{pool}/resize", operation="batch_pool_resize", plane=BATCH)
def resize_pool(sb, req: Request) -> Response:
    body = req.json_object()
    dedicated, low = _count(req, body, "targetDedicatedNodes"), _count(req, body, "targetLowPriorityNodes")
    timeout = body.get("resizeTimeout") or "PT15M"
    seconds = _seconds(timeout)
    if seconds is None or seconds < MIN_RESIZE_TIMEOUT_S:
        raise _invalid(req, "resizeTimeout", timeout, "The resize timeout must be an ISO 8601 duration of at least "
                       "5 minutes.")
    raw_option = body.get("nodeDeallocationOption") or "requeue"
    deallocation = DEALLOCATION.get(str(raw_option).lower())
    if deallocation is None:
        raise _invalid(req, "nodeDeallocationOption", raw_option, "Use requeue, terminate, taskcompletion or "
                       "retaineddata.")
    with sb.store.transaction():
        pool, _ = _load(sb, req)
        props = pool["properties"]
        if "autoScale" in props["scaleSettings"]:
            # The REST reference says 409 for a pool with automatic scaling; the code is a guess.
            raise service_error(req, 409, "OperationInvalidForCurrentState", "The specified operation is not valid "
                                "for the current state of the resource: the pool has automatic scaling enabled. "
                                "Disable automatic scaling before resizing the pool.")
        if props["allocationState"] != "Steady":
            raise service_error(req, 409, "PoolBeingResized", "The specified pool is being resized. A pool can be "
                                "resized only when its allocationState is steady.")
        fixed = {"targetDedicatedNodes": dedicated, "targetLowPriorityNodes": low, "resizeTimeout": timeout}
        if deallocation != "Requeue":
            fixed["nodeDeallocationOption"] = deallocation
        props["scaleSettings"] = {"fixedScale": fixed}
        props["lastModified"] = now_iso()
        if not nodes.start_resize(sb, pool, dedicated, low, deallocation=deallocation, resize_timeout=timeout):
            # Already that size: still a resize of its own, done at once (the last one's errors no longer apply).
            props["resizeOperationStatus"] = {"startTime": props["lastModified"], "targetDedicatedNodes": dedicated,
                                              "targetLowPriorityNodes": low, "nodeDeallocationOption": deallocation,
                                              "resizeTimeout": timeout}
        return _accepted(sb, req, pool)


@router.route("POST", "/pools/{pool}/stopresize", operation="batch_pool_stop_resize", plane=BATCH)
def stop_resize(sb, req: Request) -> Response:
    with sb.store.transaction():
        pool, _ = _load(sb, req)
        # A steady pool has nothing to stop: answered 202 and left as it is (guess: the reference says nothing).
        nodes.stop_resize(sb, pool)
        return _accepted(sb, req, pool)
