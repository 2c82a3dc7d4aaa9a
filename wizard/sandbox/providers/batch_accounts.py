"""Microsoft.Batch (management plane, 2025-06-01): Batch accounts. Pools are in batch.py.

Create and delete are long-running operations in every mode, as Azure runs them: 202 with no body and a
`Location` to poll (plus `Retry-After`, so that the SDK polls every second rather than its default 30 s). A create
polls {account}/operationResults/{id} (as azure-cli's recording of `az batch account create` shows), a delete
.../locations/{loc}/accountOperationResults/{account}-{id} (BatchAccountDelete.json); either answers 202 while the
operation runs, then 200 with the account (create) or an empty 200 (delete). With no duration (the default) the
operation completes at the first look after the 202 (lro.py).

An account is answered as the recording shows it: no tags unless some were given, privateEndpointConnections [],
and in the shape of the api-version asked: properties Batch added in later versions are left out of older ones
(ACCOUNT_KEYS_SINCE).
"""

from __future__ import annotations

import re
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
    provider_id,
    public,
    put,
    require_location,
    require_resource_group,
    require_tags,
)
from ..router import ArmError, Request, Response, not_found, router
from .batch_nodes import release_all
from .batch_rules import ACCOUNT_TYPE, POOL_TYPE, parse_pool_identity

ACCOUNTS = "/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Batch/batchAccounts"
ACCOUNT = ACCOUNTS + "/{account}"
OPERATION_RESULTS = "/subscriptions/{sub}/providers/Microsoft.Batch/locations/{location}/accountOperationResults/{op}"
CREATE_RESULTS = ACCOUNT + "/operationResults/{op}"
ACCOUNT_NAME = re.compile(r"^[a-z0-9]{3,24}$")

# The api-version that added each account property, from the BatchManagement.json specs (2019-08-01 has the per-VM-
# family quotas), azure-mgmt-batch's changelog (8.0.0 = 2020-03-01, 9.0.0 = 2020-05-01, 16.0.0 = 2021-06-01,
# 16.2.0 = 2022-06-01) and azure-cli's recording of a create at 2022-06-01, which has no nodeManagementEndpoint yet.
ACCOUNT_KEYS_SINCE = {
    "dedicatedCoreQuotaPerVMFamily": "2019-08-01", "dedicatedCoreQuotaPerVMFamilyEnforced": "2019-08-01",
    "publicNetworkAccess": "2020-03-01", "privateEndpointConnections": "2020-03-01", "encryption": "2020-05-01",
    "allowedAuthenticationModes": "2021-06-01", "networkProfile": "2022-06-01", "nodeManagementEndpoint": "2022-10-01",
}
AUTO_STORAGE_KEYS_SINCE = {"authenticationMode": "2021-06-01", "nodeIdentityReference": "2021-06-01"}
IDENTITY_SINCE = "2020-05-01"


def account_id(sub: str, rg: str, name: str) -> str:
    return provider_id(sub, rg, ACCOUNT_TYPE, name)


def account_endpoint(sb, resource_id: str) -> str:
    """The account's Batch service endpoint: host:port of its sandbox listener (BatchClient adds https://)."""
    return sb.batch_url(resource_id).split("://", 1)[1]


def _with_endpoint(sb, account: dict[str, Any]) -> dict[str, Any]:
    # The listener may move to another port when the sandbox restarts, so the endpoint is read at answer time.
    account["properties"]["accountEndpoint"] = account_endpoint(sb, account["id"])
    return account


def account_view(sb, account: dict[str, Any], api_version: str) -> dict[str, Any]:
    """The account as answered at `api-version`: without the properties that version does not have."""
    body = public(_with_endpoint(sb, account))
    version = api_version[:10]
    props = {k: v for k, v in body["properties"].items() if ACCOUNT_KEYS_SINCE.get(k, "") <= version}
    if isinstance(props.get("autoStorage"), dict):
        props["autoStorage"] = {k: v for k, v in props["autoStorage"].items()
                                if AUTO_STORAGE_KEYS_SINCE.get(k, "") <= version}
    body["properties"] = props
    if version < IDENTITY_SINCE:
        body.pop("identity", None)
    return body


def _settle(sb, resource_id: str) -> dict[str, Any] | None:
    lro.settle(sb, "batch_account_create", resource_id)
    lro.settle(sb, "batch_account_delete", resource_id)
    return get(sb, resource_id)


def require_account(sb, req: Request) -> dict[str, Any]:
    account = _settle(sb, account_id(req.params["sub"], req.params["rg"], req.params["account"]))
    if account is None:
        require_resource_group(sb, req.params["sub"], req.params["rg"])
        raise not_found(ACCOUNT_TYPE, req.params["account"], req.params["rg"])
    return _with_endpoint(sb, account)


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
        "publicNetworkAccess": given.get("publicNetworkAccess") or "Enabled", "privateEndpointConnections": [],
        "encryption": given.get("encryption") or {"keySource": "Microsoft.Batch"},
        "allowedAuthenticationModes": given.get("allowedAuthenticationModes") or ["SharedKey", "AAD",
                                                                                  "TaskAuthenticationToken"],
    }
    if given.get("autoStorage"):
        props["autoStorage"] = {**given["autoStorage"], "lastKeySync": now_iso()}
        props["autoStorage"].setdefault("authenticationMode", "StorageKeys")
    if given.get("networkProfile"):
        props["networkProfile"] = given["networkProfile"]
    account = {"id": account_id(sub, rg, name), "name": name, "type": ACCOUNT_TYPE, "location": location,
               "identity": _account_identity(sb, body.get("identity")), "properties": props}
    if "tags" in body:  # Batch answers no tags key for an account created without tags
        account["tags"] = require_tags(body)
    return account


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
        release_all(sb, pool)
        delete(sb, pool["id"])
    if account.get("identity", {}).get("type") == "SystemAssigned":
        from .. import directory
        directory.remove_principal(sb.store, account["identity"]["principalId"])
    delete(sb, account["id"])


def _accepted(sb, req: Request, path: str) -> Response:
    """202 + Location (+ Retry-After): Azure's answer to an account create or delete, whatever its duration."""
    url = f"{sb.arm_url}{path}?api-version={req.api_version}"
    return Response(202, headers={"Location": url, **lro.retry_after(sb)})


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
        existing = _settle(sb, account_id(sub, rg, name))
        if existing is not None:
            # Existing accounts are not updated by create (the SDK docs point to update); tags follow ARM.
            if "tags" in body:
                existing["tags"] = require_tags(body)
                put(sb, existing)
            return Response(200, account_view(sb, existing, req.api_version))
        account = build_account(sb, sub, rg, name, location, body)
        account["properties"]["provisioningState"] = "Creating"
        put(sb, account)
        op = lro.start(sb, "batch_account_create", account["id"], sb.realism.lro_duration("batch_account_create"),
                       at_first_look=True)
    return _accepted(sb, req, f"{account['id']}/operationResults/{op['id']}")


# No RBAC action: a principal with a role on the resource group only polls this subscription-level URL (its SDK
# does), so none can be asked for here; the unguessable operation id is what protects it.
@router.route("GET", CREATE_RESULTS, operation="arm_get")
@router.route("GET", OPERATION_RESULTS, operation="arm_get")
def account_operation(sb, req: Request) -> Response:
    op = lro.poll(sb, req.params["op"].rsplit("-", 1)[-1])
    if op is None or not op["kind"].startswith("batch_account_"):
        raise ArmError(404, "OperationNotFound", f"The operation '{req.params['op']}' could not be found.")
    if not lro.done(op):
        return Response(202, headers={"Location": f"{sb.arm_url}{req.path}?api-version={req.api_version}",
                                      **lro.retry_after(sb)})
    account = get(sb, op["resourceId"]) if op["kind"] == "batch_account_create" else None
    return Response(200, account_view(sb, account, req.api_version) if account else None)


@router.route("GET", ACCOUNT, operation="arm_get", action=ACCOUNT_TYPE + "/read")
def get_account(sb, req: Request) -> Response:
    return Response(200, account_view(sb, require_account(sb, req), req.api_version))


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
    return Response(200, account_view(sb, account, req.api_version))


@router.route("DELETE", ACCOUNT, operation="batch_account_delete", action=ACCOUNT_TYPE + "/delete")
def delete_account(sb, req: Request) -> Response:
    with sb.store.transaction():
        account = _settle(sb, account_id(req.params["sub"], req.params["rg"], req.params["account"]))
        if account is None:
            return Response(204)
        running = [op for op in sb.store.list(lro.OPERATION) if op["kind"] == "batch_account_delete"
                   and op["resourceId"].lower() == account["id"].lower() and not lro.done(op)]
        if running:  # a second DELETE while the first runs follows the same operation
            op = running[0]
        else:
            account["properties"]["provisioningState"] = "Deleting"
            put(sb, account)
            op = lro.start(sb, "batch_account_delete", account["id"], sb.realism.lro_duration("batch_account_delete"),
                           at_first_look=True)
    # Azure names these operations "{account}-{guid}" (BatchAccountDelete.json); the sandbox's id follows the dash.
    return _accepted(sb, req, f"/subscriptions/{req.params['sub']}/providers/Microsoft.Batch/locations/"
                              f"{account['location']}/accountOperationResults/{account['name']}-{op['id']}")


@router.route("GET", ACCOUNTS, operation="arm_get", action=ACCOUNT_TYPE + "/read")
def list_accounts_in_group(sb, req: Request) -> Response:
    sub, rg = req.params["sub"], req.params["rg"]
    require_resource_group(sb, sub, rg)
    accounts = list_children(sb, f"/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Batch", ACCOUNT_TYPE)
    return Response(200, _page(sb, req, accounts))


@router.route("GET", "/subscriptions/{sub}/providers/Microsoft.Batch/batchAccounts", operation="arm_get",
              action=ACCOUNT_TYPE + "/read")
def list_accounts(sb, req: Request) -> Response:
    return Response(200, _page(sb, req, list_in_subscription(sb, req.params["sub"], ACCOUNT_TYPE)))


def _page(sb, req: Request, accounts: list[dict[str, Any]]) -> dict[str, Any]:
    # Only an account with an operation under way can change by settling (a list must not scan every operation).
    settled = [a if a["properties"]["provisioningState"] == "Succeeded" else _settle(sb, a["id"]) for a in accounts]
    return page([account_view(sb, a, req.api_version) for a in settled if a is not None])
