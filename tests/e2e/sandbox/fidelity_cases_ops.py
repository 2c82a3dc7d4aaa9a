"""The fidelity cases of Microsoft.Batch (accounts and pools, management plane and the Batch service API), of
identities at an older api-version, and of the operations the tutorials use (registry admin credentials, AKS user
credentials). Registered in fidelity_support.CASES when test_fidelity.py imports this module; how a case works is
described there."""

from __future__ import annotations

import copy

from .fidelity_support import Env, Exchange, case, listed

# Microsoft.Batch ---------------------------------------------------------------------------------------------------
ACCOUNT_EXTRAS = {
    # BatchAccount properties of 2025-06-01 that the example (first written for older versions) leaves out.
    "extra properties.privateEndpointConnections": "answered by Batch ([] when none), as azure-cli's recording shows "
                                                   "(recorded/BatchAccountCreate.azure-cli.json)",
    "extra properties.nodeManagementEndpoint": "a 2025-06-01 account property",
    "extra properties.dedicatedCoreQuotaPerVMFamily": "a 2025-06-01 account property",
    "extra properties.dedicatedCoreQuotaPerVMFamilyEnforced": "a 2025-06-01 account property",
    "extra properties.encryption": "a 2025-06-01 account property (Microsoft.Batch keys by default)",
    "extra properties.allowedAuthenticationModes": "a 2025-06-01 account property",
    "extra properties.autoStorage.authenticationMode": "a 2025-06-01 autoStorage property (StorageKeys by default)",
}


def _account_path(env: Env, group: str, name: str) -> str:
    return env.sub_path(f"/resourceGroups/{group}/providers/Microsoft.Batch/batchAccounts/{name}")


def _account_body(env: Env, group: str) -> dict:
    storage = env.sub_path(f"/resourceGroups/{group}/providers/Microsoft.Storage/storageAccounts/samplestorage")
    return {"location": "japaneast", "properties": {"autoStorage": {"storageAccountId": storage}}}


def _account(env: Env, ex: dict, group: str, name: str) -> str:
    """A Batch account like the example's: japaneast, auto-storage (its create is answered 202, as Azure does)."""
    env.group(group, "japaneast")
    path = _account_path(env, group, name)
    if name not in env.made:
        reply = env.arm("PUT", path, ex, _account_body(env, group))
        assert reply.status == 202, reply.raw
        env.made.add(name)
    return path


@case("batch/BatchAccountCreate_Default.json", allowed=ACCOUNT_EXTRAS)
def _batch_account_create(env: Env, ex: dict) -> list[Exchange]:
    """Both answers: 202 (no body) for a new account, 200 with the account for a PUT on an existing one."""
    env.group("rg-fid-batch-new", "japaneast")
    path, body = _account_path(env, "rg-fid-batch-new", "fidnewacct"), _account_body(env, "rg-fid-batch-new")
    return [("202", env.arm("PUT", path, ex, body)), ("200", env.arm("PUT", path, ex, body))]


@case("batch/BatchAccountDelete.json")
def _batch_account_delete(env: Env, ex: dict) -> list[Exchange]:
    """202 + Location while the account goes, 204 once it is gone (the example's 200 is never answered: Azure
    runs the delete as an operation, and so does the sandbox)."""
    path = _account(env, ex, "rg-fid-batch-del", "fiddelacct")
    return [("202", env.arm("DELETE", path, ex)), ("204", env.arm("DELETE", path, ex))]


@case("batch/BatchAccountGet.json", allowed=ACCOUNT_EXTRAS)
def _batch_account_get(env: Env, ex: dict) -> list[Exchange]:
    return [("200", env.arm("GET", _account(env, ex, "rg-fid-batch", "fidacct"), ex))]


@case("batch/BatchAccountList.json", allowed=listed(ACCOUNT_EXTRAS))
def _batch_account_list(env: Env, ex: dict) -> list[Exchange]:
    _account(env, ex, "rg-fid-batch", "fidacct")
    return [("200", env.arm("GET", env.sub_path("/providers/Microsoft.Batch/batchAccounts"), ex))]


@case("batch/PoolCreate_UserAssignedIdentities.json", allowed={
    "extra properties.autoScaleRun": "guess: the sandbox evaluates the autoscale formula at once, as Batch does on "
                                     "create, and reports that run; the example's answer shows none",
    "extra properties.resizeOperationStatus": "guess: the resize that evaluation started; the example shows none"})
def _batch_pool_create(env: Env, ex: dict) -> list[Exchange]:
    account = _account(env, ex, "rg-fid-batch", "fidacct")
    body = copy.deepcopy(ex["parameters"]["parameters"])
    body["identity"]["userAssignedIdentities"] = {
        env.identity("rg-fid-batch", name, "japaneast").id: {} for name in ("id1", "id2")}
    return [("200", env.arm("PUT", account + "/pools/testpool", ex, body))]


def _pool_from_example_response(ex: dict) -> dict:
    shown = ex["responses"]["200"]["body"]
    if "value" in shown:
        shown = shown["value"][0]
    return {"properties": copy.deepcopy(shown["properties"])}  # read-only properties are ignored on input


def _fixed_pool_body(nodes: int) -> dict:
    return {"properties": {"vmSize": "STANDARD_D2S_V3", "deploymentConfiguration": {"virtualMachineConfiguration": {
        "imageReference": {"publisher": "canonical", "offer": "ubuntu-24_04-lts", "sku": "server",
                           "version": "latest"}, "nodeAgentSkuId": "batch.node.ubuntu 24.04"}},
        "scaleSettings": {"fixedScale": {"targetDedicatedNodes": nodes}}}}


@case("batch/PoolGet.json")
def _batch_pool_get(env: Env, ex: dict) -> list[Exchange]:
    path = _account(env, ex, "rg-fid-batch", "fidacct") + "/pools/pool-fid-get"
    assert env.arm("PUT", path, ex, _pool_from_example_response(ex)).status == 200
    return [("200", env.arm("GET", path, ex))]


@case("batch/PoolList.json")
def _batch_pool_list(env: Env, ex: dict) -> list[Exchange]:
    """The example's pool carries the errors of its last resize; so does this one, whose resize was stopped through
    the Batch service API while it ran (a stop is reported as Batch's ResizeStopped error)."""
    account = _account(env, ex, "rg-fid-batch-list", "fidlistacct")
    with env.sandbox.realism.hold("lro:batch_resize_up", key=account + "/pools/testpool"):
        assert env.arm("PUT", account + "/pools/testpool", ex, _pool_from_example_response(ex)).status == 200
        assert env.batch(account, "POST", "/pools/testpool/stopresize", {"parameters": {
            "api-version": "2025-06-01"}}).status == 202
    return [("200", env.arm("GET", account + "/pools", ex))]


@case("batch/PoolUpdate_OtherProperties.json", allowed={
    "missing properties.autoScaleRun": "the example answers an autoScaleRun for a fixedScale pool (inconsistent); "
                                       "the sandbox reports runs for autoscale pools only",
    "extra properties.resizeOperationStatus.targetLowPriorityNodes": "the example omits a zero low-priority target; "
                                                                     "the sandbox always states it"})
def _batch_pool_update(env: Env, ex: dict) -> list[Exchange]:
    path = _account(env, ex, "rg-fid-batch", "fidacct") + "/pools/pool-fid-update"
    assert env.arm("PUT", path, ex, _pool_from_example_response(ex)).status == 200
    return [("200", env.arm("PATCH", path, ex, ex["parameters"]["parameters"]))]


@case("batch/PoolDelete.json")
def _batch_pool_delete(env: Env, ex: dict) -> list[Exchange]:
    """202 with Location and Retry-After while the pool goes, 204 once it is gone."""
    path = _account(env, ex, "rg-fid-batch", "fidacct") + "/pools/pool-fid-delete"
    assert env.arm("PUT", path, ex, _fixed_pool_body(1)).status == 200
    return [("202", env.arm("DELETE", path, ex)), ("204", env.arm("DELETE", path, ex))]


# The Batch service API (an account's own endpoint) ---------------------------------------------------------------------
@case("batch-data/Pools_ResizePool.json")
def _batch_data_resize(env: Env, ex: dict) -> list[Exchange]:
    account = _account(env, ex, "rg-fid-batch", "fidacct")
    assert env.arm("PUT", account + "/pools/resizePool", ex, _fixed_pool_body(0)).status == 200
    return [("202", env.batch(account, "POST", "/pools/resizePool/resize", ex, ex["parameters"]["resizeOptions"]))]


@case("batch-data/Pools_StopPoolResize.json")
def _batch_data_stop_resize(env: Env, ex: dict) -> list[Exchange]:
    """Stopped while it grows (a test hold keeps the resize running until the stop)."""
    account = _account(env, ex, "rg-fid-batch", "fidacct")
    pool = account + "/pools/poolId"
    with env.sandbox.realism.hold("lro:batch_resize_up", key=pool):
        assert env.arm("PUT", pool, ex, _fixed_pool_body(2)).status == 200
        return [("202", env.batch(account, "POST", "/pools/poolId/stopresize", ex))]


# Microsoft.ManagedIdentity at an api-version before isolationScope ----------------------------------------------------
@case("msi/IdentityCreate.2023-01-31.json")
def _identity_create_2023(env: Env, ex: dict) -> list[Exchange]:
    env.group("rg-fid-msi-2023")
    path = env.sub_path("/resourceGroups/rg-fid-msi-2023/providers/Microsoft.ManagedIdentity/userAssignedIdentities/"
                        "id-fid-2023")
    body = ex["parameters"]["parameters"]
    return [("201", env.arm("PUT", path, ex, body)), ("200", env.arm("PUT", path, ex, body))]


# Operations the tutorials use ----------------------------------------------------------------------------------------
@case("containerregistry/RegistryListCredentials.json")
def _registry_credentials(env: Env, ex: dict) -> list[Exchange]:
    env.group("rg-fid-acr", "westus")
    path = env.sub_path("/resourceGroups/rg-fid-acr/providers/Microsoft.ContainerRegistry/registries/acrfidadmin")
    created = env.arm("PUT", path, ex, {"location": "westus", "sku": {"name": "Basic"},
                                        "properties": {"adminUserEnabled": True}})
    assert created.status == 201, created.raw
    return [("200", env.arm("POST", path + "/listCredentials", ex))]


@case("containerservice/ManagedClustersListClusterUserCredentials.json")
def _aks_user_credentials(env: Env, ex: dict) -> list[Exchange]:
    # The demo tenant's cluster (rg-aks-apps/aks-apps) stands for the example's clustername1.
    path = env.sub_path("/resourceGroups/rg-aks-apps/providers/Microsoft.ContainerService/managedClusters/aks-apps")
    return [("200", env.arm("POST", path + "/listClusterUserCredential", ex))]


# Recorded against Azure (azure-cli's test recordings), replayed like the examples -----------------------------------
@case("recorded/IdentityCreate.azure-cli.json")
def _recorded_identity_create(env: Env, ex: dict) -> list[Exchange]:
    """At 2022-01-31-preview: no isolationScope, no systemData, and Location on the 201."""
    env.group("rg-fid-recorded", "westus")
    path = env.sub_path("/resourceGroups/rg-fid-recorded/providers/Microsoft.ManagedIdentity/userAssignedIdentities/"
                        "myidentity")
    return [("201", env.arm("PUT", path, ex, ex["parameters"]["parameters"]))]


@case("recorded/FederatedIdentityCredentialCreate.azure-cli.json")
def _recorded_fic_create(env: Env, ex: dict) -> list[Exchange]:
    identity = env.identity("rg-fid-recorded", "ide", "westus")
    return [("201", env.arm("PUT", identity.id + "/federatedIdentityCredentials/fic1", ex,
                            ex["parameters"]["parameters"]))]


@case("recorded/RoleAssignmentCreate.azure-cli.json")
def _recorded_role_assignment(env: Env, ex: dict) -> list[Exchange]:
    # The recording assigns Reader to a user; the sandbox's directory holds service principals: a new identity's.
    grantee = env.identity("rg-fid-recorded", "id-fid-reader-recorded", "westus")
    body = {"properties": dict(ex["parameters"]["parameters"]["properties"], principalId=grantee.principal_id,
                               principalType="ServicePrincipal",
                               roleDefinitionId=env.sub_path("/providers/Microsoft.Authorization/roleDefinitions/"
                                                             "acdd72a7-3385-48ef-bd42-f606fba81ae7"))}
    path = env.sub_path("/resourceGroups/rg-fid-recorded/providers/Microsoft.Authorization/roleAssignments/"
                        "88888888-0000-0000-0000-000000000001")
    return [("201", env.arm("PUT", path, ex, body))]


@case("recorded/ContainerGroupCreate.azure-cli.json")
def _recorded_container_group(env: Env, ex: dict) -> list[Exchange]:
    """The 201 (Pending, no IP yet, the identity's tenant) and the status document its Azure-AsyncOperation serves
    (the recording's list of events is cut to its first: the items share one shape)."""
    env.group("rg-fid-recorded", "westus")
    uai = env.identity("rg-fid-recorded", "cliaciidentity", "westus")
    body = copy.deepcopy(ex["parameters"]["containerGroup"])
    body["identity"]["userAssignedIdentities"] = {uai.id: {}}
    path = env.sub_path("/resourceGroups/rg-fid-recorded/providers/Microsoft.ContainerInstance/containerGroups/"
                        "clicontainer000003")
    created = env.arm("PUT", path, ex, body)
    operation = created.header("azure-asyncoperation") or ""
    return [("201", created), ("200", env.arm("GET", operation.removeprefix(env.sandbox.arm_url).split("?")[0], ex))]


@case("recorded/BatchAccountCreate.azure-cli.json")
def _recorded_batch_account(env: Env, ex: dict) -> list[Exchange]:
    """202 with no body and a Location under the account, then the account that Location answers once created."""
    env.group("rg-fid-recorded-batch", "eastus")
    uai = env.identity("rg-fid-recorded-batch", "identity1", "eastus")
    body = copy.deepcopy(ex["parameters"]["parameters"])
    body["identity"]["userAssignedIdentities"] = {uai.id: {}}
    accepted = env.arm("PUT", _account_path(env, "rg-fid-recorded-batch", "clibatchtestacct"), ex, body)
    location = (accepted.header("location") or "").removeprefix(env.sandbox.arm_url).split("?")[0]
    assert location.endswith("/batchAccounts/clibatchtestacct/operationResults/" + location.rsplit("/", 1)[-1])
    return [("202", accepted), ("200", env.arm("GET", location, ex))]
