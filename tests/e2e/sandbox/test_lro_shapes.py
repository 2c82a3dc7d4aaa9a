"""Long-running operations and answer shapes as Azure gives them, in the sandbox's default mode (no --latency):
ACI's 201 Pending + Azure-AsyncOperation, Batch's 202 + Location + Retry-After for accounts and pool deletes, the
Location of identity and federated-credential creates, and the shapes that depend on what was set or on the
api-version asked. Each is seen raw over HTTPS (status codes and headers the SDK hides) and through the real SDK
client completing the same operation. Where an operation must stay in progress, a test holds it (`realism.hold`);
nothing here sleeps or races a clock."""

from __future__ import annotations

import json
import ssl
import urllib.error
import urllib.request
import uuid
from typing import Any

import pytest
from azure.core.exceptions import ResourceNotFoundError

ARM_SCOPE = "https://management.azure.com/.default"
RG, LOC = "rg-prefect-demo", "eastus"
BATCH_RG = "rg-batch-jobs"
READER = "acdd72a7-3385-48ef-bd42-f606fba81ae7"


class Raw:
    """Raw HTTPS calls to the sandbox's ARM endpoint with a real token, answering (status, headers, JSON body)."""

    def __init__(self, sandbox, credential):
        self.sandbox, self.credential = sandbox, credential
        self.ctx = ssl.create_default_context(cafile=str(sandbox.ca_path))

    def __call__(self, method: str, path_or_url: str, body: Any = None) -> tuple[int, dict[str, str], Any]:
        url = path_or_url if path_or_url.startswith("https://") else self.sandbox.arm_url + path_or_url
        data = json.dumps(body).encode() if body is not None else (b"" if method in ("POST", "PUT") else None)
        req = urllib.request.Request(url, method=method, data=data, headers={
            "Authorization": "Bearer " + self.credential.get_token(ARM_SCOPE).token,
            "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, context=self.ctx) as resp:
                status, headers, raw = resp.status, resp.headers, resp.read()
        except urllib.error.HTTPError as err:
            status, headers, raw = err.code, err.headers, err.read()
        return status, {k.lower(): v for k, v in headers.items()}, json.loads(raw) if raw else None


@pytest.fixture
def raw(sandbox, credential) -> Raw:
    return Raw(sandbox, credential)


def _group_body(**container_props) -> dict:
    container = {"name": "main", "properties": {"image": "python:3.12",
                                                "resources": {"requests": {"cpu": 1, "memoryInGB": 1.5}},
                                                **container_props}}
    return {"location": LOC, "properties": {"containers": [container], "osType": "Linux"}}


def _aci_path(sub_id: str, name: str) -> str:
    return (f"/subscriptions/{sub_id}/resourceGroups/{RG}/providers/Microsoft.ContainerInstance/containerGroups/"
            f"{name}?api-version=2023-05-01")


def _account_path(sub_id: str, name: str, api_version: str = "2025-06-01") -> str:
    return (f"/subscriptions/{sub_id}/resourceGroups/{BATCH_RG}/providers/Microsoft.Batch/batchAccounts/{name}"
            f"?api-version={api_version}")


# ---- Azure Container Instances ---------------------------------------------------------------------------------
def test_aci_create_is_201_pending_with_an_async_operation_even_with_no_duration(sandbox, az, raw, sub_id):
    assert sandbox.realism.lro_duration("aci_create") == 0  # default mode: no --latency, no holds
    status, headers, body = raw("PUT", _aci_path(sub_id, "cg-raw-lro"), _group_body())
    assert status == 201 and body["properties"]["provisioningState"] == "Pending"
    operation = headers["azure-asyncoperation"]
    assert operation.startswith(f"{sandbox.arm_url}/subscriptions/{sub_id}/providers/Microsoft.ContainerInstance/"
                                f"locations/{LOC}/operations/") and headers["retry-after"] == "1"
    status, _, document = raw("GET", operation)  # the first look completes a zero-duration operation
    assert status == 200 and document["status"] == "Succeeded" and document["id"] == body["id"]
    assert [e["name"] for e in document["properties"]["events"]] == ["Pulling", "Pulled", "Started"]
    assert az.aci.container_groups.get(RG, "cg-raw-lro").provisioning_state == "Succeeded"

    calls = len(sandbox.calls)
    group = az.aci.container_groups.begin_create_or_update(RG, "cg-sdk-lro", _group_body()).result()
    assert group.provisioning_state == "Succeeded" and group.instance_view.state == "Running"
    made = [(c.method, c.status, "/operations/" in c.path) for c in sandbox.arm_calls(calls)]
    assert made[0] == ("PUT", 201, False) and ("GET", 200, True) in made  # the SDK polled the operation


def test_aci_redeploy_is_200_with_an_async_operation_and_completes_through_the_sdk(sandbox, az, raw, sub_id):
    az.aci.container_groups.begin_create_or_update(RG, "cg-redeploy", _group_body()).result()
    with sandbox.realism.hold("lro:aci_create") as updating:
        status, headers, body = raw("PUT", _aci_path(sub_id, "cg-redeploy"), _group_body(command=["sleep", "1"]))
        assert status == 200 and body["properties"]["provisioningState"] == "Updating"
        assert raw("GET", headers["azure-asyncoperation"])[2]["status"] == "InProgress"
        assert updating.wait_reached(timeout=30)
    assert raw("GET", headers["azure-asyncoperation"])[2]["status"] == "Succeeded"


def test_aci_identity_carries_the_tenant_and_an_unset_command_is_left_out(sandbox, az, raw, sub_id):
    identity = az.msi.user_assigned_identities.create_or_update(RG, "id-aci-tenant", {"location": LOC})
    body = dict(_group_body(), identity={"type": "UserAssigned", "userAssignedIdentities": {identity.id: {}}})
    group = az.aci.container_groups.begin_create_or_update(RG, "cg-tenant", body).result()
    assert group.identity.tenant_id == sandbox.tenant_id and group.identity.principal_id is None
    shown = raw("GET", _aci_path(sub_id, "cg-tenant"))[2]
    assert shown["identity"]["tenantId"] == sandbox.tenant_id
    assert "command" not in shown["properties"]["containers"][0]["properties"]
    az.aci.container_groups.begin_create_or_update(RG, "cg-empty-cmd", _group_body(command=[])).result()
    assert raw("GET", _aci_path(sub_id, "cg-empty-cmd"))[2]["properties"]["containers"][0]["properties"][
        "command"] == []  # an empty command that was given is echoed, as in Azure's examples


# ---- Batch accounts and pools ----------------------------------------------------------------------------------
def test_batch_account_create_and_delete_are_202_with_location_even_with_no_duration(sandbox, az, raw, sub_id):
    status, headers, body = raw("PUT", _account_path(sub_id, "lroacct"), {"location": "westeurope"})
    assert (status, body) == (202, None) and headers["retry-after"] == "1"
    location = headers["location"]  # under the account, as Azure answers a create (azure-cli's recording)
    assert location.startswith(sandbox.arm_url + _account_path(sub_id, "lroacct").split("?")[0] + "/operationResults/")
    status, _, account = raw("GET", location)
    assert status == 200 and account["properties"]["provisioningState"] == "Succeeded"
    assert account["name"] == "lroacct" and account["properties"]["accountEndpoint"]
    assert "tags" not in account and account["properties"]["privateEndpointConnections"] == []

    status, headers, body = raw("DELETE", _account_path(sub_id, "lroacct"))
    assert (status, body) == (202, None) and headers["retry-after"] == "1"  # a delete: under the location
    assert "/providers/Microsoft.Batch/locations/westeurope/accountOperationResults/lroacct-" in headers["location"]
    assert raw("GET", headers["location"])[:3:2] == (200, None)
    assert raw("GET", _account_path(sub_id, "lroacct"))[0] == 404

    poller = az.batch.batch_account.begin_create(BATCH_RG, "sdkacct", {"location": "westeurope"})
    assert poller.result().provisioning_state == "Succeeded"
    az.batch.batch_account.begin_delete(BATCH_RG, "sdkacct").result()
    with pytest.raises(ResourceNotFoundError):
        az.batch.batch_account.get(BATCH_RG, "sdkacct")


def test_batch_account_operation_answers_202_while_it_runs(sandbox, az, raw, sub_id):
    account_id = _account_path(sub_id, "heldacct").split("?")[0]
    with sandbox.realism.hold("lro:batch_account_create", key=account_id) as creating:
        location = raw("PUT", _account_path(sub_id, "heldacct"), {"location": "westeurope"})[1]["location"]
        status, headers, body = raw("GET", location)
        assert (status, body) == (202, None) and headers["location"].startswith(location.split("?")[0])
        assert az.batch.batch_account.get(BATCH_RG, "heldacct").provisioning_state == "Creating"
        assert creating.wait_reached(timeout=30, times=2)
    assert raw("GET", location)[2]["properties"]["provisioningState"] == "Succeeded"


def test_batch_pool_delete_is_202_with_location_and_retry_after(sandbox, az, raw, sub_id):
    body = {"properties": {"vmSize": "STANDARD_D2S_V3", "deploymentConfiguration": {"virtualMachineConfiguration": {
        "imageReference": {"publisher": "canonical", "offer": "ubuntu-24_04-lts", "sku": "server",
                           "version": "latest"}, "nodeAgentSkuId": "batch.node.ubuntu 24.04"}}}}
    for name in ("pool-raw-del", "pool-sdk-del"):
        az.batch.pool.create(BATCH_RG, "contosobatch", name, body)
    pool_path = _account_path(sub_id, "contosobatch").replace("?", "/pools/pool-raw-del?")
    status, headers, answer = raw("DELETE", pool_path)
    assert (status, answer, headers["retry-after"]) == (202, None, "1")
    assert "/batchAccounts/contosobatch/poolOperationResults/delete-pool-raw-del-" in headers["location"]
    assert raw("GET", headers["location"])[0] == 200 and raw("GET", pool_path)[0] == 404
    assert raw("DELETE", pool_path)[0] == 204
    az.batch.pool.begin_delete(BATCH_RG, "contosobatch", "pool-sdk-del").result()
    assert [p.name for p in az.batch.pool.list_by_batch_account(BATCH_RG, "contosobatch")] == ["pool-etl"]


def test_batch_account_is_answered_in_the_shape_of_the_api_version_asked(raw, sub_id):
    new = raw("GET", _account_path(sub_id, "contosobatch"))[2]
    assert {"nodeManagementEndpoint", "allowedAuthenticationModes", "encryption", "publicNetworkAccess",
            "dedicatedCoreQuotaPerVMFamily"} <= new["properties"].keys() and "identity" in new
    assert "nodeManagementEndpoint" not in raw("GET", _account_path(sub_id, "contosobatch", "2022-06-01"))[2][
        "properties"]  # as azure-cli's recording of a 2022-06-01 create shows
    old = raw("GET", _account_path(sub_id, "contosobatch", "2019-08-01"))[2]
    assert old["properties"].keys() == {"accountEndpoint", "provisioningState", "poolAllocationMode",
                                        "dedicatedCoreQuota", "lowPriorityCoreQuota", "dedicatedCoreQuotaPerVMFamily",
                                        "dedicatedCoreQuotaPerVMFamilyEnforced", "poolQuota",
                                        "activeJobAndJobScheduleQuota"}
    assert "identity" not in old
    listed = raw("GET", f"/subscriptions/{sub_id}/providers/Microsoft.Batch/batchAccounts?api-version=2021-01-01")[2]
    assert {"encryption", "publicNetworkAccess"} <= listed["value"][0]["properties"].keys()
    assert "allowedAuthenticationModes" not in listed["value"][0]["properties"]


# ---- Managed identities -----------------------------------------------------------------------------------------
def test_identity_and_federated_credential_creates_carry_location_on_201_only(az, raw, sub_id):
    path = f"/subscriptions/{sub_id}/resourceGroups/{RG}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-loc"
    status, headers, body = raw("PUT", path + "?api-version=2024-11-30", {"location": LOC})
    assert status == 201 and headers["location"] == body["id"] and "systemData" not in body
    status, headers, _ = raw("PUT", path + "?api-version=2024-11-30", {"location": LOC})
    assert status == 200 and "location" not in headers
    fic = {"properties": {"issuer": "https://token.actions.githubusercontent.com", "subject": "repo:o/r:ref:main",
                          "audiences": ["api://AzureADTokenExchange"]}}
    fic_path = path + "/federatedIdentityCredentials/fic-loc?api-version=2024-11-30"
    status, headers, body = raw("PUT", fic_path, fic)
    assert status == 201 and headers["location"] == body["id"]
    status, headers, _ = raw("PUT", fic_path, fic)
    assert status == 200 and "location" not in headers
    assert az.msi.user_assigned_identities.get(RG, "id-loc").isolation_scope == "None"  # the SDK asks 2024-11-30


def test_identity_isolation_scope_exists_from_2024_11_30_on(raw, sub_id):
    path = (f"/subscriptions/{sub_id}/resourceGroups/rg-platform/providers/Microsoft.ManagedIdentity/"
            "userAssignedIdentities/userflyterole?api-version=")
    assert raw("GET", path + "2024-11-30")[2]["properties"]["isolationScope"] == "None"
    assert raw("GET", path + "2025-01-31-preview")[2]["properties"]["isolationScope"] == "None"
    for older in ("2018-11-30", "2023-01-31", "2023-07-31-preview"):
        assert raw("GET", path + older)[2]["properties"].keys() == {"tenantId", "principalId", "clientId"}
    listed = raw("GET", f"/subscriptions/{sub_id}/providers/Microsoft.ManagedIdentity/userAssignedIdentities"
                        "?api-version=2023-01-31")[2]["value"]
    assert listed and all("isolationScope" not in i["properties"] for i in listed)


# ---- Role assignments and vaults ---------------------------------------------------------------------------------
def test_role_assignments_answer_description_and_delegated_identity_as_null_when_unset(sandbox, az, raw, sub_id):
    grantee = az.msi.user_assigned_identities.create_or_update(RG, "id-ra-shape", {"location": LOC})
    scope = f"/subscriptions/{sub_id}/resourceGroups/{RG}"
    name = str(uuid.uuid4())
    props = {"roleDefinitionId": f"/subscriptions/{sub_id}/providers/Microsoft.Authorization/roleDefinitions/{READER}",
             "principalId": grantee.principal_id, "principalType": "ServicePrincipal"}
    path = f"{scope}/providers/Microsoft.Authorization/roleAssignments/{name}?api-version=2022-04-01"
    status, _, created = raw("PUT", path, {"properties": props})
    assert status == 201 and created["properties"]["createdBy"] is None  # as Azure answers a create
    shown = raw("GET", path)[2]["properties"]
    assert (shown["description"], shown["delegatedManagedIdentityResourceId"]) == (None, None)
    assert shown["createdBy"] == sandbox.operator()["objectId"]
    described = az.authorization.role_assignments.create(scope, str(uuid.uuid4()), {"properties": {
        **props, "roleDefinitionId": props["roleDefinitionId"].replace(READER, "b24988ac-6180-42a0-ab88-20f7382dd24c"),
        "description": "CI reads the group"}})
    assert described.description == "CI reads the group" and described.delegated_managed_identity_resource_id is None


def test_vault_leaves_out_the_disk_and_template_flags_until_they_are_set(sandbox, az, raw, sub_id):
    params = {"location": LOC, "properties": {"tenantId": sandbox.tenant_id,
                                              "sku": {"family": "A", "name": "standard"}}}
    vault = az.keyvault.vaults.begin_create_or_update(RG, "kv-shape-plain", params).result()
    assert vault.properties.enabled_for_disk_encryption is None and vault.properties.enabled_for_deployment is False
    path = f"/subscriptions/{sub_id}/resourceGroups/{RG}/providers/Microsoft.KeyVault/vaults/kv-shape-plain"
    shown = raw("GET", path + "?api-version=2026-05-15")[2]["properties"]
    assert shown["enabledForDeployment"] is False
    assert "enabledForDiskEncryption" not in shown and "enabledForTemplateDeployment" not in shown
    az.keyvault.vaults.update(RG, "kv-shape-plain", {"properties": {"enabledForTemplateDeployment": True}})
    shown = raw("GET", path + "?api-version=2026-05-15")[2]["properties"]
    assert shown["enabledForTemplateDeployment"] is True and "enabledForDiskEncryption" not in shown
