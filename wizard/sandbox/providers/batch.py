"""Microsoft.Batch (management plane, 2025-06-01): pools. Accounts are in batch_accounts.py.

Pool create and update are synchronous (200 with an ETag header) and honour If-Match / If-None-Match;
delete is a long-running operation in every mode, as in Azure: 202 with `Location` (and `Retry-After`) at
{account}/poolOperationResults/delete-{pool}-{id}, completing at the first look after it when it has no
duration (lro.py). Pools take user-assigned identities only, and an identity change never reaches the nodes a
pool already has (see batch_nodes.py): that is the gotcha the wizard must handle by scaling the pool to zero
and back. Errors the Batch service itself raises carry its shape (batch_rules.py).
"""

from __future__ import annotations

import re
import time
from typing import Any

from .. import lro
from ..arm import delete, get, list_children, now_iso, page, parse_id, public, put, require_tags
from ..router import ArmError, Request, Response, router
from . import batch_nodes as nodes
from .batch_accounts import ACCOUNT, account_id, build_account, require_account
from .batch_rules import (
    POOL_TYPE,
    batch_error,
    check_immutable,
    evaluate_scale,
    normalise_scale,
    parse_pool_identity,
    validate_new_pool,
)

POOL = ACCOUNT + "/pools/{pool}"
POOL_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
# What a client may send but the service computes; ignored on create and update.
READ_ONLY_POOL_PROPERTIES = {"lastModified", "creationTime", "provisioningState", "provisioningStateTransitionTime",
                             "allocationState", "allocationStateTransitionTime", "currentDedicatedNodes",
                             "currentLowPriorityNodes", "autoScaleRun", "resizeOperationStatus",
                             "currentNodeCommunicationMode"}


# ---- pools ---------------------------------------------------------------------------------------------
def pool_id(req: Request) -> str:
    return f"{account_id(req.params['sub'], req.params['rg'], req.params['account'])}/pools/{req.params['pool']}"


def etag_after(previous: str | None) -> str:
    # Batch ETags are .NET ticks in hex, e.g. W/"0x8D4EDFEBFADF4AB"; every change gets a larger one.
    ticks = int((time.time() + 62135596800) * 1e7)
    if previous:
        ticks = max(ticks, int(previous.split("0x", 1)[1].rstrip('"'), 16) + 1)
    return f'W/"0x{ticks:X}"'


def _pool_response(pool: dict[str, Any]) -> Response:
    return Response(200, public(pool), headers={"ETag": pool["etag"]})


def load_pool(sb, resource_id: str) -> dict[str, Any] | None:
    """The pool as of now (resize and delete settled by the clock); call inside a transaction."""
    lro.settle(sb, "batch_pool_delete", resource_id)
    pool = get(sb, resource_id)
    if pool is not None and nodes.settle(sb, pool):
        put(sb, pool)
    return pool


def _pool_not_found() -> ArmError:
    return batch_error(404, "PoolNotFound", "The specified pool does not exist.")


def _check_conditions(req: Request, pool: dict[str, Any] | None) -> None:
    if_match, if_none_match = req.header("If-Match").strip(), req.header("If-None-Match").strip()
    etag = pool["etag"] if pool else None
    if if_match and (etag is None or (if_match != "*" and if_match != etag)):
        raise batch_error(412, "ConditionNotMet", "The condition specified using HTTP conditional header(s) is not met.")
    if if_none_match and etag is not None and (if_none_match == "*" or if_none_match == etag):
        raise batch_error(412, "ConditionNotMet", "The condition specified using HTTP conditional header(s) is not met.")


def _refuse_if_deleting(pool: dict[str, Any]) -> None:
    if pool["properties"]["provisioningState"] == "Deleting":
        raise batch_error(409, "PoolBeingDeleted", "The specified pool has been marked for deletion and is being "
                          "reclaimed.")


def _resize_to_scale(sb, pool: dict[str, Any], duration_s: float | None = None) -> None:
    """Start the resize the pool's scale settings ask for (409 while another resize is still running)."""
    dedicated, low, deallocation, timeout = evaluate_scale(pool)
    heading = nodes.resize_target(pool)
    if heading is not None:
        if heading == (dedicated, low):
            return
        raise batch_error(409, "PoolBeingResized", "The specified pool is currently being resized. Wait for its "
                          "allocationState to return to Steady before changing its target node counts.")
    nodes.start_resize(sb, pool, dedicated, low, deallocation=deallocation, resize_timeout=timeout,
                       duration_s=duration_s)


def new_pool(sb, req: Request | None, account: dict[str, Any], name: str, body: dict[str, Any],
             resize_duration_s: float | None = None) -> dict[str, Any]:
    """A validated pool record, resizing towards its scale settings."""
    given = {k: v for k, v in (body.get("properties") or {}).items() if k not in READ_ONLY_POOL_PROPERTIES}
    validate_new_pool(given)
    now = now_iso()
    props = {"lastModified": now, "creationTime": now, "provisioningState": "Succeeded",
             "provisioningStateTransitionTime": now, "allocationState": "Steady",
             "allocationStateTransitionTime": now, "interNodeCommunication": "Disabled", "taskSlotsPerNode": 1,
             "taskSchedulingPolicy": {"nodeFillType": "Spread"}, **given,
             "scaleSettings": normalise_scale(given.get("scaleSettings")),
             "currentDedicatedNodes": 0, "currentLowPriorityNodes": 0}
    pool: dict[str, Any] = {"id": f"{account['id']}/pools/{name}", "name": name, "type": POOL_TYPE,
                            "etag": etag_after(None), "properties": props}
    if "identity" in body and body["identity"] is not None:
        pool["identity"] = parse_pool_identity(sb, req, body["identity"])
    if body.get("tags"):
        pool["tags"] = require_tags(body)
    _resize_to_scale(sb, pool, resize_duration_s)
    return pool


def _apply_update(sb, req: Request, pool: dict[str, Any], body: dict[str, Any]) -> None:
    """Merge an update: supplied properties replace theirs, the identity block replaces the whole identity."""
    given = {k: v for k, v in (body.get("properties") or {}).items() if k not in READ_ONLY_POOL_PROPERTIES}
    check_immutable(pool["properties"], given)
    identity = parse_pool_identity(sb, req, body["identity"]) if body.get("identity") is not None else None
    props = pool["properties"]
    if identity is not None:
        # Only the pool changes: nodes keep the identities they booted with (batch_nodes.py); nodes this
        # same update allocates boot with the new identity.
        pool["identity"] = identity
    for key, value in given.items():
        props[key] = normalise_scale(value) if key == "scaleSettings" else value
    if "scaleSettings" in given:
        props.pop("autoScaleRun", None)
        _resize_to_scale(sb, pool)
    if "tags" in body:
        pool["tags"] = require_tags(body)
    props["lastModified"] = now_iso()
    pool["etag"] = etag_after(pool["etag"])


@router.route("PUT", POOL, operation="batch_pool_create", action=POOL_TYPE + "/write")
def create_pool(sb, req: Request) -> Response:
    name = req.params["pool"]
    if not POOL_NAME.match(name):
        raise ArmError(400, "InvalidResourceName", f"Resource name '{name}' is invalid. A pool name can contain any "
                       "combination of alphanumeric characters, hyphens and underscores, and must be 1 to 64 "
                       "characters long.")
    body = req.json_object()
    with sb.store.transaction():
        account = require_account(sb, req)
        existing = load_pool(sb, pool_id(req))
        _check_conditions(req, existing)
        if existing is not None:
            _refuse_if_deleting(existing)
            _apply_update(sb, req, existing, body)
            put(sb, existing)
            return _pool_response(existing)
        if len(list_children(sb, account["id"], POOL_TYPE)) >= account["properties"]["poolQuota"]:
            raise batch_error(409, "PoolQuotaReached", "The specified account has reached its pool quota.")
        pool = new_pool(sb, req, account, name, body)
        put(sb, pool)
    return _pool_response(pool)


@router.route("PATCH", POOL, operation="batch_pool_patch_identity", action=POOL_TYPE + "/write")
def update_pool(sb, req: Request) -> Response:
    body = req.json_object()
    with sb.store.transaction():
        require_account(sb, req)
        pool = load_pool(sb, pool_id(req))
        if pool is None:
            raise _pool_not_found()
        _check_conditions(req, pool)
        _refuse_if_deleting(pool)
        _apply_update(sb, req, pool, body)
        put(sb, pool)
    return _pool_response(pool)


@router.route("GET", POOL, operation="arm_get", action=POOL_TYPE + "/read")
def get_pool(sb, req: Request) -> Response:
    with sb.store.transaction():
        require_account(sb, req)
        pool = load_pool(sb, pool_id(req))
    if pool is None:
        raise _pool_not_found()
    return _pool_response(pool)


@router.route("GET", ACCOUNT + "/pools", operation="arm_get", action=POOL_TYPE + "/read")
def list_pools(sb, req: Request) -> Response:
    with sb.store.transaction():
        account = require_account(sb, req)
        pools = [p for p in (load_pool(sb, p["id"]) for p in list_children(sb, account["id"], POOL_TYPE)) if p]
    return Response(200, page(pools))  # page() serves $maxresults / maxresults and $skiptoken


@lro.finisher("batch_pool_delete")
def _pool_deleted(sb, op: dict[str, Any]) -> None:
    pool = get(sb, op["resourceId"])
    if pool is not None:
        nodes.release_all(sb, pool)
        delete(sb, pool["id"])


@router.route("DELETE", POOL, operation="batch_pool_delete", action=POOL_TYPE + "/delete")
def delete_pool(sb, req: Request) -> Response:
    with sb.store.transaction():
        require_account(sb, req)
        pool = load_pool(sb, pool_id(req))
        if pool is None:
            return Response(204)
        pending = [op for op in sb.store.list(lro.OPERATION) if op["kind"] == "batch_pool_delete"
                   and op["resourceId"].lower() == pool["id"].lower() and not lro.done(op)]
        if pending:
            op = pending[0]
        else:
            now = now_iso()
            pool["properties"].update(provisioningState="Deleting", provisioningStateTransitionTime=now)
            nodes.mark_all_leaving(pool)
            put(sb, pool)
            op = lro.start(sb, "batch_pool_delete", pool["id"], sb.realism.lro_duration("batch_pool_delete"),
                           at_first_look=True)
    # Azure names pool operations "delete-{pool}-{hex}" (PoolDelete.json); the sandbox's id follows the last dash.
    account_path = account_id(req.params["sub"], req.params["rg"], req.params["account"])
    url = (f"{sb.arm_url}{account_path}/poolOperationResults/delete-{pool['name']}-{op['id']}"
           f"?api-version={req.api_version}")
    return Response(202, headers={"Location": url, **lro.retry_after(sb)})


@router.route("GET", ACCOUNT + "/poolOperationResults/{op}", operation="arm_get", action=POOL_TYPE + "/read",
              scope=lambda req: account_id(req.params["sub"], req.params["rg"], req.params["account"]))
def pool_operation(sb, req: Request) -> Response:
    op = lro.poll(sb, req.params["op"].rsplit("-", 1)[-1])
    if op is None or parse_id(op["resourceId"]).get("type", "").lower() != POOL_TYPE.lower():
        raise ArmError(404, "OperationNotFound", f"The operation '{req.params['op']}' could not be found.")
    if not lro.done(op):
        return Response(202, headers={"Location": f"{sb.arm_url}{req.path}?api-version={req.api_version}",
                                      **lro.retry_after(sb)})
    return Response(200)


# ---- demo seed -----------------------------------------------------------------------------------------
DEMO_IMAGE = {"imageReference": {"publisher": "canonical", "offer": "ubuntu-24_04-lts", "sku": "server",
                                 "version": "latest"},
              "nodeAgentSkuId": "batch.node.ubuntu 24.04"}


def seed_demo(sb) -> None:
    """contosobatch (rg-batch-jobs, westeurope) with pool-etl: 2 dedicated nodes, Steady, no identity."""
    sub = sb.subscription_ids[0]
    account = build_account(sb, sub, "rg-batch-jobs", "contosobatch", "westeurope", {})
    put(sb, account)
    body = {"properties": {"vmSize": "STANDARD_D2S_V3",
                           "deploymentConfiguration": {"virtualMachineConfiguration": DEMO_IMAGE},
                           "scaleSettings": {"fixedScale": {"targetDedicatedNodes": 2}}}}
    put(sb, new_pool(sb, None, account, "pool-etl", body, resize_duration_s=0.0))


from ..seed import demo_seeders  # noqa: E402 - registered after the functions it names exist

demo_seeders.append(seed_demo)
