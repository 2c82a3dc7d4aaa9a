"""The operations the tutorials use that the sandbox now serves, through the real SDK clients over HTTPS:
Batch's pool resize and stop-resize on the account's own endpoint (azure-batch BatchClient, whose pollers wait
for allocationState steady), a registry's admin credentials (`az acr credential show`) and an AKS cluster's user
credentials (`az aks get-credentials`), through azure-mgmt-resource's pipeline (the project has no ACR or AKS SDK).
Each asserts Azure's status and body, errors included. Resizes are held open with `realism.hold`, never slept on.
"""

from __future__ import annotations

import base64
import datetime
import json
import ssl
import urllib.error
import urllib.request

import pytest
from azure.batch import BatchClient
from azure.batch import models as bm
from azure.core.exceptions import HttpResponseError
from azure.core.rest import HttpRequest

from wizard.azure.clients import make_credential
from wizard.sandbox.providers.batch_nodes import pool_nodes
from wizard.sandbox.seed import assign

RG, ACCOUNT, POOL = "rg-batch-jobs", "contosobatch", "pool-etl"  # the demo pool has 2 dedicated nodes
READER = "acdd72a7-3385-48ef-bd42-f606fba81ae7"
BATCH_SCOPE = "https://batch.core.windows.net//.default"
ACR_API, AKS_API = "2023-07-01", "2024-02-01"


@pytest.fixture
def batch(az, profile, credential) -> BatchClient:
    endpoint = az.batch.batch_account.get(RG, ACCOUNT).account_endpoint
    return BatchClient(f"https://{endpoint}", credential, **profile.transport_kwargs())


def _pool_id(az) -> str:
    return az.batch.pool.get(RG, ACCOUNT, POOL).id


def _error(call) -> tuple[int, str]:
    with pytest.raises(HttpResponseError) as err:
        call()
    return err.value.status_code, err.value.error.code


def _raw_batch(sandbox, az, credential, method: str, path: str, body: dict | None = None):
    """A raw call to the account's endpoint: (status, lower-cased headers, raw body), for what the SDK hides."""
    url = f"https://{az.batch.batch_account.get(RG, ACCOUNT).account_endpoint}{path}?api-version=2025-06-01"
    req = urllib.request.Request(url, method=method, data=json.dumps(body or {}).encode(), headers={
        "Authorization": "Bearer " + credential.get_token(BATCH_SCOPE).token,
        "Content-Type": "application/json; odata=minimalmetadata"})
    ctx = ssl.create_default_context(cafile=str(sandbox.ca_path))
    try:
        with urllib.request.urlopen(req, context=ctx) as resp:
            return resp.status, {k.lower(): v for k, v in resp.headers.items()}, resp.read()
    except urllib.error.HTTPError as err:
        return err.code, {k.lower(): v for k, v in err.headers.items()}, err.read()


# ---- Batch: resize and stop resize -----------------------------------------------------------------------------
def test_resize_goes_resizing_then_steady_and_refuses_a_second_resize(sandbox, az, batch):
    pool_id = _pool_id(az)
    with sandbox.realism.hold("lro:batch_resize_up", key=pool_id) as growing:
        poller = batch.begin_resize_pool(POOL, bm.BatchPoolResizeOptions(target_dedicated_nodes=3),
                                         polling_interval=1)
        assert growing.wait_reached(timeout=30)  # the poller has seen the pool resizing
        pool = batch.get_pool(POOL)
        assert (pool.allocation_state, pool.current_dedicated_nodes, pool.target_dedicated_nodes) == \
            ("resizing", 2, 3)
        assert not poller.done()
        with pytest.raises(HttpResponseError) as err:  # Batch: a pool resizes only while it is steady
            batch.begin_resize_pool(POOL, bm.BatchPoolResizeOptions(target_dedicated_nodes=1)).result()
        assert (err.value.status_code, err.value.error.code) == (409, "PoolBeingResized")
    poller.result()
    pool = batch.get_pool(POOL)
    assert (pool.allocation_state, pool.current_dedicated_nodes, pool.target_dedicated_nodes) == ("steady", 3, 3)
    assert len(pool_nodes(sandbox, pool_id)) == 3
    fixed = az.batch.pool.get(RG, ACCOUNT, POOL).scale_settings.fixed_scale  # the management plane agrees
    assert (fixed.target_dedicated_nodes, fixed.target_low_priority_nodes) == (3, 0)


def test_resize_answers_202_with_the_pools_new_etag(sandbox, az, batch, credential):
    before = batch.get_pool(POOL)
    status, headers, body = _raw_batch(sandbox, az, credential, "POST", f"/pools/{POOL}/resize",
                                       {"targetDedicatedNodes": 1, "nodeDeallocationOption": "terminate"})
    assert (status, body) == (202, b"")
    after = batch.get_pool(POOL)
    assert headers["etag"] == after.etag != before.etag and headers["request-id"]
    assert headers["dataserviceid"].endswith(f"/pools/{POOL}")
    assert (after.allocation_state, after.current_dedicated_nodes, after.target_dedicated_nodes) == ("steady", 1, 1)
    fixed = az.batch.pool.get(RG, ACCOUNT, POOL).scale_settings.fixed_scale
    assert fixed.node_deallocation_option == "Terminate"


def test_shrinking_marks_nodes_leaving_until_the_resize_ends(sandbox, az, batch):
    pool_id = _pool_id(az)
    with sandbox.realism.hold("lro:batch_resize_down", key=pool_id):
        poller = batch.begin_resize_pool(POOL, bm.BatchPoolResizeOptions(target_dedicated_nodes=0),
                                         polling_interval=1)
        counts = next(batch.list_pool_node_counts()).dedicated
        assert (counts.leaving_pool, counts.idle) == (2, 0) and batch.get_pool(POOL).allocation_state == "resizing"
    poller.result()
    pool = batch.get_pool(POOL)
    assert (pool.allocation_state, pool.current_dedicated_nodes) == ("steady", 0)
    assert pool_nodes(sandbox, pool_id) == []


def test_stop_resize_keeps_the_nodes_the_pool_has_and_reports_resize_stopped(sandbox, az, batch):
    pool_id = _pool_id(az)
    with sandbox.realism.hold("lro:batch_resize_up", key=pool_id):
        growing = batch.begin_resize_pool(POOL, bm.BatchPoolResizeOptions(target_dedicated_nodes=5),
                                          polling_interval=1)
        assert batch.get_pool(POOL).allocation_state == "resizing"
        batch.begin_stop_pool_resize(POOL, polling_interval=1).result()  # steady although the hold is still on
        growing.result()  # the resize's own poller ends too: the pool is steady
        pool = batch.get_pool(POOL)
        assert (pool.allocation_state, pool.current_dedicated_nodes, pool.target_dedicated_nodes) == \
            ("steady", 2, 5)
        assert [e.code for e in pool.resize_errors] == ["ResizeStopped"]
    status = az.batch.pool.get(RG, ACCOUNT, POOL).resize_operation_status  # the management plane shows it too
    assert [e.code for e in status.errors] == ["ResizeStopped"]
    batch.begin_resize_pool(POOL, bm.BatchPoolResizeOptions(target_dedicated_nodes=2), polling_interval=1).result()
    assert batch.get_pool(POOL).resize_errors is None  # errors describe the last resize only
    batch.begin_stop_pool_resize(POOL, polling_interval=1).result()  # a steady pool: nothing to stop
    assert batch.get_pool(POOL).current_dedicated_nodes == 2


def test_resize_refusals_are_batch_errors(sandbox, profile, az, batch):
    assert _error(lambda: batch.begin_resize_pool("no-such-pool", bm.BatchPoolResizeOptions(
        target_dedicated_nodes=1)).result()) == (404, "PoolNotFound")
    assert _error(lambda: batch.begin_stop_pool_resize("no-such-pool").result()) == (404, "PoolNotFound")
    with pytest.raises(HttpResponseError) as err:  # "The minimum value is 5 minutes ... 400 (Bad Request)"
        batch.begin_resize_pool(POOL, bm.BatchPoolResizeOptions(target_dedicated_nodes=1,
                                                                resize_timeout=datetime.timedelta(minutes=1))).result()
    assert (err.value.status_code, err.value.error.code) == (400, "InvalidPropertyValue")
    assert {d.code: d.message for d in err.value.error.details}["PropertyName"] == "resizeTimeout"

    az.batch.pool.create(RG, ACCOUNT, "pool-auto", {"properties": {
        "vmSize": "STANDARD_D2S_V3", "deploymentConfiguration": {"virtualMachineConfiguration": {
            "imageReference": {"publisher": "canonical", "offer": "ubuntu-24_04-lts", "sku": "server",
                               "version": "latest"}, "nodeAgentSkuId": "batch.node.ubuntu 24.04"}},
        "scaleSettings": {"autoScale": {"formula": "$TargetDedicatedNodes=0"}}}})
    assert _error(lambda: batch.begin_resize_pool("pool-auto", bm.BatchPoolResizeOptions(
        target_dedicated_nodes=1)).result())[0] == 409  # "You cannot resize Pools which are configured for automatic
    #                                                      scaling ... the Batch service returns an error 409"
    with sandbox.realism.hold("lro:batch_pool_delete", key=_pool_id(az).replace(POOL, "pool-auto")):
        deleting = az.batch.pool.begin_delete(RG, ACCOUNT, "pool-auto")
        assert _error(lambda: batch.begin_resize_pool("pool-auto", bm.BatchPoolResizeOptions(
            target_dedicated_nodes=1)).result()) == (409, "PoolBeingDeleted")
    deleting.result()

    reader = sandbox.add_operator("batch-reader", "Reader on the Batch account")
    assign(sandbox, az.batch.batch_account.get(RG, ACCOUNT).id, READER, reader["objectId"], "reader:batch")
    endpoint = az.batch.batch_account.get(RG, ACCOUNT).account_endpoint
    readonly = BatchClient(f"https://{endpoint}", make_credential(profile.with_operator(
        reader["clientId"], reader["clientSecret"])), **profile.transport_kwargs())
    assert readonly.get_pool(POOL).id == POOL
    assert _error(lambda: readonly.begin_resize_pool(POOL, bm.BatchPoolResizeOptions(
        target_dedicated_nodes=1)).result()) == (403, "AuthorizationFailure")


# ---- Container registry: admin credentials ------------------------------------------------------------------------
def _send(az, method: str, path: str, api_version: str, body: dict | None = None):
    return az.resources.send_request(HttpRequest(method, path, params={"api-version": api_version}, json=body))


def _registry_path(sub_id: str, name: str) -> str:
    return f"/subscriptions/{sub_id}/resourceGroups/rg-platform/providers/Microsoft.ContainerRegistry/registries/{name}"


def test_registry_list_credentials_for_the_admin_user(az, sub_id):
    path = _registry_path(sub_id, "acradminon")
    body = {"location": "northeurope", "sku": {"name": "Basic"}, "properties": {"adminUserEnabled": True}}
    az.resources.resources.begin_create_or_update_by_id(path, body, api_version=ACR_API).result()
    answer = _send(az, "POST", path + "/listCredentials", ACR_API)
    assert answer.status_code == 200
    credentials = answer.json()
    assert credentials["username"] == "acradminon"
    assert [p["name"] for p in credentials["passwords"]] == ["password", "password2"]
    assert all(len(p["value"]) >= 32 for p in credentials["passwords"])
    assert credentials["passwords"][0]["value"] != credentials["passwords"][1]["value"]
    az.resources.resources.begin_create_or_update_by_id(path, dict(body, tags={"team": "platform"}),
                                                        api_version=ACR_API).result()
    assert _send(az, "POST", path + "/listCredentials", ACR_API).json() == credentials  # kept until regenerated


def test_registry_list_credentials_is_refused_without_the_admin_user_or_the_registry(az, sub_id):
    answer = _send(az, "POST", _registry_path(sub_id, "acrcontoso") + "/listCredentials", ACR_API)  # admin off
    error = answer.json()["error"]
    assert (answer.status_code, error["code"]) == (400, "UnAuthorizedForCredentialOperations")
    assert error["message"].startswith(f"Cannot perform credential operations for {_registry_path(sub_id, 'acrcontoso')}"
                                       " as admin user is disabled.")
    answer = _send(az, "POST", _registry_path(sub_id, "acrnowhere") + "/listCredentials", ACR_API)
    assert (answer.status_code, answer.json()["error"]["code"]) == (404, "ResourceNotFound")


# ---- AKS: user credentials ---------------------------------------------------------------------------------------
def _cluster_path(sub_id: str, name: str = "aks-apps") -> str:
    return f"/subscriptions/{sub_id}/resourceGroups/rg-aks-apps/providers/Microsoft.ContainerService/managedClusters/{name}"


def test_cluster_user_credential_is_a_kubeconfig_whose_server_is_not_served(az, sub_id):
    answer = _send(az, "POST", _cluster_path(sub_id) + "/listClusterUserCredential", AKS_API)
    assert answer.status_code == 200
    (kubeconfig,) = answer.json()["kubeconfigs"]
    assert kubeconfig["name"] == "clusterUser"
    text = base64.b64decode(kubeconfig["value"]).decode()
    assert "the sandbox does not serve this\n# cluster's Kubernetes API" in text
    fqdn = az.resources.resources.get_by_id(_cluster_path(sub_id), api_version=AKS_API).properties["fqdn"]
    server = next(line.split(": ", 1)[1] for line in text.splitlines() if line.strip().startswith("server:"))
    assert server == f"https://{fqdn}.sandbox-not-served.invalid:443"  # RFC 6761: .invalid never resolves
    for line in ("apiVersion: v1", "kind: Config", "current-context: aks-apps", "- name: clusterUser_rg-aks-apps_aks-apps"):
        assert line in text.splitlines()
    again = _send(az, "POST", _cluster_path(sub_id) + "/listClusterUserCredential", AKS_API).json()
    assert again["kubeconfigs"][0]["value"] == kubeconfig["value"]  # the same user token every time
    admin = _send(az, "POST", _cluster_path(sub_id) + "/listClusterAdminCredential", AKS_API).json()["kubeconfigs"][0]
    assert admin["name"] == "clusterAdmin" and "clusterAdmin_rg-aks-apps_aks-apps" in base64.b64decode(
        admin["value"]).decode()


def test_cluster_user_credential_of_a_missing_cluster_is_resource_not_found(az, sub_id):
    answer = _send(az, "POST", _cluster_path(sub_id, "aks-missing") + "/listClusterUserCredential", AKS_API)
    error = answer.json()["error"]
    assert (answer.status_code, error["code"]) == (404, "ResourceNotFound")
    assert "Microsoft.ContainerService/managedClusters/aks-missing" in error["message"]
