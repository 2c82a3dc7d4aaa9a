"""Microsoft.Batch (management plane, 2025-06-01): Batch accounts and pools.

Pool create and update are synchronous (200 with an ETag header) and honour If-Match / If-None-Match;
delete is a long-running operation. Pools take user-assigned identities only, and an identity change never
reaches the nodes a pool already has (see batch_nodes.py): that is the gotcha the wizard must handle by
scaling the pool to zero and back.
Errors the Batch service itself raises carry its shape: "<message>\\nRequestId:<id>\\nTime:<time>",
target "BatchAccount" and Reason/PropertyName/PropertyPath details.
"""

from __future__ import annotations

import re
import time
import uuid
from typing import Any

from .. import lro
from ..arm import (
    delete,
    get,
    list_children,
    list_in_subscription,
    now_iso,
    page,
    parse_id,
    provider_id,
    public,
    put,
    require_location,
    require_resource_group,
    require_tags,
)
from ..router import ArmError, Request, Response, not_found, router
from . import batch_nodes as nodes
from .batch_nodes import (
    ACCOUNT_TYPE,
    POOL_TYPE,
    batch_error,
    check_immutable,
    evaluate_scale,
    normalise_scale,
    parse_pool_identity,
    validate_new_pool,
)

ACCOUNTS = "/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Batch/batchAccounts"
ACCOUNT = ACCOUNTS + "/{account}"
POOL = ACCOUNT + "/pools/{pool}"
ACCOUNT_NAME = re.compile(r"^[a-z0-9]{3,24}$")
POOL_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
# What a client may send but the service computes; ignored on create and update.
READ_ONLY_POOL_PROPERTIES = {"lastModified", "creationTime", "provisioningState", "provisioningStateTransitionTime",
                             "allocationState", "allocationStateTransitionTime", "currentDedicatedNodes",
                             "currentLowPriorityNodes", "autoScaleRun", "resizeOperationStatus",
                             "currentNodeCommunicationMode"}


def _retry_location(sb: Any, url: str) -> dict[str, str]:
    return {"Location": url, **lro.retry_after(sb)}


def _op_url(sb, req: Request, path: str) -> str:
    return f"{sb.arm_url}{path}?api-version={req.api_version}"


# ---- accounts ------------------------------------------------------------------------------------------
def account_id(sub: str, rg: str, name: str) -> str:
    return provider_id(sub, rg, ACCOUNT_TYPE, name)


def account_endpoint(sb, resource_id: str) -> str:
    """The account's Batch service endpoint: host:port of its sandbox listener (BatchClient adds https://)."""
    return sb.batch_url(resource_id).split("://", 1)[1]


def _with_endpoint(sb, account: dict[str, Any]) -> dict[str, Any]:
    # The listener may move to another port when the sandbox restarts, so the endpoint is read at answer time.
    account["properties"]["accountEndpoint"] = account_endpoint(sb, account["id"])
    return account


def require_account(sb, req: Request) -> dict[str, Any]:
    account = get(sb, account_id(req.params["sub"], req.params["rg"], req.params["account"]))
    if account is None:
        require_resource_group(sb, req.params["sub"], req.params["rg"])
        raise not_found(ACCOUNT_TYPE, req.params["account"], req.params["rg"])
    lro.settle(sb, "batch_account_create", account["id"])
    return _with_endpoint(sb, get(sb, account["id"]) or account)


def _account_identity(sb, body: Any) -> dict[str, Any]:
    if body is None:
        return {"type": "None"}
    kind = str((body or {}).get("type", "")).replace(" ", "").lower()
    if kind == "none":
        return {"type": "None"}
    if kind == "systemassigned":
        from .. import directory
        principal = directory.add_principal(sb.store, display_name="batch-account")
        return {"type": "SystemAssigned", "principalId": principal["objectId"], "tenantId": sb.tenant_id}
    if kind == "userassigned":
        return parse_pool_identity(sb, None, body, owner="batchAccounts")
    raise ArmError(400, "InvalidIdentityType", f"The identity type '{body.get('type')}' is not supported for Batch "
                   "accounts. Supported types are 'SystemAssigned', 'UserAssigned' and 'None'.")


def build_account(sb, sub: str, rg: str, name: str, location: str, body: dict[str, Any]) -> dict[str, Any]:
    given = body.get("properties") or {}
    props: dict[str, Any] = {
        "accountEndpoint": account_endpoint(sb, account_id(sub, rg, name)),
        "nodeManagementEndpoint": f"{uuid.uuid4()}.{location}.service.batch.azure.com",
        "provisioningState": "Succeeded",
        "poolAllocationMode": given.get("poolAllocationMode") or "BatchService",
        "dedicatedCoreQuota": 500, "lowPriorityCoreQuota": 100,
        "dedicatedCoreQuotaPerVMFamily": [{"name": "standardDSv3Family", "coreQuota": 100},
                                          {"name": "standardDDSv5Family", "coreQuota": 100}],
        "dedicatedCoreQuotaPerVMFamilyEnforced": True,
        "poolQuota": 100, "activeJobAndJobScheduleQuota": 300,
        "publicNetworkAccess": given.get("publicNetworkAccess") or "Enabled",
        "encryption": given.get("encryption") or {"keySource": "Microsoft.Batch"},
        "allowedAuthenticationModes": given.get("allowedAuthenticationModes") or ["SharedKey", "AAD",
                                                                                  "TaskAuthenticationToken"],
    }
    if given.get("autoStorage"):
        props["autoStorage"] = {**given["autoStorage"], "lastKeySync": now_iso()}
        props["autoStorage"].setdefault("authenticationMode", "StorageKeys")
    if given.get("networkProfile"):
        props["networkProfile"] = given["networkProfile"]
    return {"id": account_id(sub, rg, name), "name": name, "type": ACCOUNT_TYPE, "location": location,
            "tags": require_tags(body), "identity": _account_identity(sb, body.get("identity")), "properties": props}


@lro.finisher("batch_account_create")
def _account_created(sb, op: dict[str, Any]) -> None:
    account = get(sb, op["resourceId"])
    if account is not None:
        account["properties"]["provisioningState"] = "Succeeded"
        put(sb, account)


@lro.finisher("batch_account_delete")
def _account_deleted(sb, op: dict[str, Any]) -> None:
    account = get(sb, op["resourceId"])
    if account is None:
        return
    for pool in list_children(sb, account["id"], POOL_TYPE):
        nodes.release_all(sb, pool)
        delete(sb, pool["id"])
    if account.get("identity", {}).get("type") == "SystemAssigned":
        from .. import directory
        directory.remove_principal(sb.store, account["identity"]["principalId"])
    delete(sb, account["id"])


@router.route("PUT", ACCOUNT, operation="batch_account_create", action=ACCOUNT_TYPE + "/write")
def create_account(sb, req: Request) -> Response:
    sub, rg, name = req.params["sub"], req.params["rg"], req.params["account"]
    if not ACCOUNT_NAME.match(name):
        raise ArmError(400, "AccountNameInvalid", f"The specified account name '{name}' is invalid. Batch account "
                       "names must be between 3 and 24 characters in length and use numbers and lower-case letters "
                       "only.")
    body = req.json_object()
    location = require_location(body.get("location"))
    require_resource_group(sb, sub, rg)
    with sb.store.transaction():
        existing = get(sb, account_id(sub, rg, name))
        if existing is not None:
            # Existing accounts are not updated by create (the SDK docs point to update); tags follow ARM.
            if "tags" in body:
                existing["tags"] = require_tags(body)
                put(sb, existing)
            return Response(200, public(_with_endpoint(sb, existing)))
        account = build_account(sb, sub, rg, name, location, body)
        duration = sb.realism.lro_duration("batch_account_create")
        if duration or sb.realism.held("lro:batch_account_create", account["id"]):
            account["properties"]["provisioningState"] = "Creating"
        put(sb, account)
        op = lro.start(sb, "batch_account_create", account["id"], duration)
    if lro.done(op):
        return Response(200, public(get(sb, account["id"])))
    url = _op_url(sb, req, f"/subscriptions/{sub}/providers/Microsoft.Batch/locations/{location}/"
                           f"accountOperationResults/{op['id']}")
    return Response(202, headers=_retry_location(sb, url))


@router.route("GET", "/subscriptions/{sub}/providers/Microsoft.Batch/locations/{location}/accountOperationResults/{op}",
              operation="arm_get", action="Microsoft.Batch/locations/accountOperationResults/read",
              scope=lambda req: f"/subscriptions/{req.params['sub']}")
def account_operation(sb, req: Request) -> Response:
    op = lro.poll(sb, req.params["op"])
    if op is None:
        raise ArmError(404, "OperationNotFound", f"The operation '{req.params['op']}' could not be found.")
    if not lro.done(op):
        return Response(202, headers=_retry_location(sb, sb.arm_url + req.path + f"?api-version={req.api_version}"))
    account = get(sb, op["resourceId"]) if op["kind"] == "batch_account_create" else None
    return Response(200, public(_with_endpoint(sb, account)) if account else None)


@router.route("GET", ACCOUNT, operation="arm_get", action=ACCOUNT_TYPE + "/read")
def get_account(sb, req: Request) -> Response:
    return Response(200, public(require_account(sb, req)))


@router.route("PATCH", ACCOUNT, operation="arm_write", action=ACCOUNT_TYPE + "/write")
def update_account(sb, req: Request) -> Response:
    body = req.json_object()
    with sb.store.transaction():
        account = require_account(sb, req)
        if "tags" in body:
            account["tags"] = require_tags(body)
        if "identity" in body:
            account["identity"] = _account_identity(sb, body["identity"])
        for key in ("autoStorage", "encryption", "allowedAuthenticationModes", "publicNetworkAccess",
                    "networkProfile"):
            if key in (body.get("properties") or {}):
                account["properties"][key] = body["properties"][key]
        put(sb, account)
    return Response(200, public(account))


@router.route("DELETE", ACCOUNT, operation="batch_account_delete", action=ACCOUNT_TYPE + "/delete")
def delete_account(sb, req: Request) -> Response:
    with sb.store.transaction():
        account = get(sb, account_id(req.params["sub"], req.params["rg"], req.params["account"]))
        if account is None:
            return Response(204)
        account["properties"]["provisioningState"] = "Deleting"
        put(sb, account)
        op = lro.start(sb, "batch_account_delete", account["id"], sb.realism.lro_duration("batch_account_delete"))
    if lro.done(op):
        return Response(200)
    url = _op_url(sb, req, f"/subscriptions/{req.params['sub']}/providers/Microsoft.Batch/locations/"
                           f"{account['location']}/accountOperationResults/{op['id']}")
    return Response(202, headers=_retry_location(sb, url))


@router.route("GET", ACCOUNTS, operation="arm_get", action=ACCOUNT_TYPE + "/read")
def list_accounts_in_group(sb, req: Request) -> Response:
    sub, rg = req.params["sub"], req.params["rg"]
    require_resource_group(sb, sub, rg)
    accounts = list_children(sb, f"/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Batch", ACCOUNT_TYPE)
    return Response(200, page(_settled_accounts(sb, accounts)))


@router.route("GET", "/subscriptions/{sub}/providers/Microsoft.Batch/batchAccounts", operation="arm_get",
              action=ACCOUNT_TYPE + "/read")
def list_accounts(sb, req: Request) -> Response:
    return Response(200, page(_settled_accounts(sb, list_in_subscription(sb, req.params["sub"], ACCOUNT_TYPE))))


def _settled_accounts(sb, accounts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for account in accounts:
        if account["properties"]["provisioningState"] != "Succeeded":
            lro.settle(sb, "batch_account_create", account["id"])
            lro.settle(sb, "batch_account_delete", account["id"])
            account = get(sb, account["id"])
        if account is not None:
            out.append(_with_endpoint(sb, account))
    return out


# ---- pools ---------------------------------------------------------------------------------------------
def pool_id(req: Request) -> str:
    return f"{account_id(req.params['sub'], req.params['rg'], req.params['account'])}/pools/{req.params['pool']}"


def _etag_after(previous: str | None) -> str:
    # Batch ETags are .NET ticks in hex, e.g. W/"0x8D4EDFEBFADF4AB"; every change gets a larger one.
    ticks = int((time.time() + 62135596800) * 1e7)
    if previous:
        ticks = max(ticks, int(previous.split("0x", 1)[1].rstrip('"'), 16) + 1)
    return f'W/"0x{ticks:X}"'


def _pool_response(pool: dict[str, Any]) -> Response:
    return Response(200, public(pool), headers={"ETag": pool["etag"]})


def _load_pool(sb, resource_id: str) -> dict[str, Any] | None:
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
                            "etag": _etag_after(None), "properties": props}
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
    pool["etag"] = _etag_after(pool["etag"])


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
        existing = _load_pool(sb, pool_id(req))
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
        pool = _load_pool(sb, pool_id(req))
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
        pool = _load_pool(sb, pool_id(req))
    if pool is None:
        raise _pool_not_found()
    return _pool_response(pool)


@router.route("GET", ACCOUNT + "/pools", operation="arm_get", action=POOL_TYPE + "/read")
def list_pools(sb, req: Request) -> Response:
    with sb.store.transaction():
        account = require_account(sb, req)
        pools = [p for p in (_load_pool(sb, p["id"]) for p in list_children(sb, account["id"], POOL_TYPE)) if p]
    try:
        size = int(req.query.get("$maxresults") or 0)
        skip = int(req.query.get("$skiptoken") or 0)
    except ValueError:
        raise ArmError(400, "InvalidQueryParameterValue", "$maxresults and $skiptoken must be integers.") from None
    if size <= 0:
        return Response(200, page(pools))
    body = page(pools[skip:skip + size])
    if skip + size < len(pools):
        # A real continuation link (never a placeholder): the SDK follows it as given.
        body["nextLink"] = (f"{sb.arm_url}{req.path}?api-version={req.api_version}&$maxresults={size}"
                            f"&$skiptoken={skip + size}")
    return Response(200, body)


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
        pool = _load_pool(sb, pool_id(req))
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
            op = lro.start(sb, "batch_pool_delete", pool["id"], sb.realism.lro_duration("batch_pool_delete"))
    if lro.done(op):
        return Response(200)
    account_path = account_id(req.params["sub"], req.params["rg"], req.params["account"])
    return Response(202, headers=_retry_location(sb, _op_url(sb, req, f"{account_path}/poolOperationResults/{op['id']}")))


@router.route("GET", ACCOUNT + "/poolOperationResults/{op}", operation="arm_get", action=POOL_TYPE + "/read",
              scope=lambda req: account_id(req.params["sub"], req.params["rg"], req.params["account"]))
def pool_operation(sb, req: Request) -> Response:
    op = lro.poll(sb, req.params["op"])
    if op is None or parse_id(op["resourceId"]).get("type", "").lower() != POOL_TYPE.lower():
        raise ArmError(404, "OperationNotFound", f"The operation '{req.params['op']}' could not be found.")
    if not lro.done(op):
        return Response(202, headers=_retry_location(sb, f"{sb.arm_url}{req.path}?api-version={req.api_version}"))
    return Response(200)


# ---- demo seed -----------------------------------------------------------------------------------------
DEMO_IMAGE = {"imageReference": {"publisher": "canonical", "offer": "ubuntu-24_04-lts", "sku": "server",
                                 "version": "latest"},
              "nodeAgentSkuId": "batch.node.ubuntu 24.04"}


def seed_demo(sb) -> None:
    """contosobatch (rg-batch-jobs, westeurope) with pool-etl: 2 dedicated nodes, Steady, no identity."""
    sub = sb.subscription_ids[0]
    account = build_account(sb, sub, "rg-batch-jobs", "contosobatch", "westeurope", {"tags": {}})
    put(sb, account)
    body = {"properties": {"vmSize": "STANDARD_D2S_V3",
                           "deploymentConfiguration": {"virtualMachineConfiguration": DEMO_IMAGE},
                           "scaleSettings": {"fixedScale": {"targetDedicatedNodes": 2}}}}
    put(sb, new_pool(sb, None, account, "pool-etl", body, resize_duration_s=0.0))


from ..seed import demo_seeders  # noqa: E402 - registered after the functions it names exist

demo_seeders.append(seed_demo)
