"""Azure Batch (management plane) through the real SDK: accounts, pools, ETags, and nodes that keep the
identities they booted with (AZURE_FACTS B2)."""

from __future__ import annotations

import json
import ssl
import time
import urllib.error
import urllib.request

import pytest
from azure.core import MatchConditions
from azure.core.exceptions import HttpResponseError, ResourceExistsError, ResourceModifiedError, ResourceNotFoundError
from azure.identity import CredentialUnavailableError, ManagedIdentityCredential

from wizard.sandbox.providers.batch_nodes import node_identity_drift, pool_nodes

RG, ACCOUNT = "rg-batch-jobs", "contosobatch"
VAULT_SCOPE = "https://vault.azure.net/.default"
IMAGE = {"imageReference": {"publisher": "canonical", "offer": "ubuntu-24_04-lts", "sku": "server", "version": "latest"},
         "nodeAgentSkuId": "batch.node.ubuntu 24.04"}


def _raw(sandbox, path: str, token: str | None = None) -> tuple[int, bytes]:
    """A raw HTTPS GET that trusts the sandbox CA, for the sandbox-only endpoint the SDK has no call for."""
    ctx = ssl.create_default_context(cafile=str(sandbox.ca_path))
    req = urllib.request.Request(sandbox.arm_url + path, headers={"Authorization": f"Bearer {token}"} if token else {})
    try:
        with urllib.request.urlopen(req, context=ctx) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


def _pool_body(nodes: int = 0, identity_ids: list[str] | None = None) -> dict:
    body: dict = {"properties": {"vmSize": "STANDARD_D2S_V3",
                                 "deploymentConfiguration": {"virtualMachineConfiguration": IMAGE},
                                 "scaleSettings": {"fixedScale": {"targetDedicatedNodes": nodes}}}}
    if identity_ids is not None:
        body["identity"] = {"type": "UserAssigned", "userAssignedIdentities": {i: {} for i in identity_ids}}
    return body


def _identity(az, name: str):
    return az.msi.user_assigned_identities.create_or_update(RG, name, {"location": "westeurope"})


def _get_with_etag(az, pool: str):
    return az.batch.pool.get(RG, ACCOUNT, pool, cls=lambda resp, model, _: (model, resp.http_response.headers["ETag"]))


def _wait_for_steady(az, pool: str, dedicated: int, timeout: float = 10.0):
    """Poll the pool (as the wizard does) until it is Steady with `dedicated` nodes; return the states seen."""
    seen, deadline = [], time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = az.batch.pool.get(RG, ACCOUNT, pool)
        seen.append(got.properties.allocation_state)
        if got.properties.allocation_state == "Steady" and got.properties.current_dedicated_nodes == dedicated:
            return seen
        time.sleep(0.05)
    raise AssertionError(f"pool {pool} not Steady with {dedicated} nodes after {timeout}s: {seen[-3:]}")


def _vault_token(node: dict, client_id: str, monkeypatch) -> str:
    """A token fetched from inside the node: ManagedIdentityCredential against the node's own IMDS."""
    monkeypatch.setenv("AZURE_POD_IDENTITY_AUTHORITY_HOST", node["imds_url"])
    return ManagedIdentityCredential(client_id=client_id).get_token(VAULT_SCOPE).token


def test_demo_account_and_pool(az, sandbox, sub_id):
    account = az.batch.batch_account.get(RG, ACCOUNT)
    # Each account's Batch service is a sandbox listener of its own (BatchClient talks to https://{accountEndpoint}).
    assert account.account_endpoint == sandbox.batch_url(account.id).removeprefix("https://").rstrip("/")
    assert (account.pool_allocation_mode, account.provisioning_state) == ("BatchService", "Succeeded")
    assert account.pool_quota and account.dedicated_core_quota
    assert ACCOUNT in [a.name for a in az.batch.batch_account.list()]
    assert [a.name for a in az.batch.batch_account.list_by_resource_group(RG)] == [ACCOUNT]
    assert list(az.batch.batch_account.list_by_resource_group("rg-platform")) == []
    pool = az.batch.pool.get(RG, ACCOUNT, "pool-etl")
    assert pool.properties.allocation_state == "Steady" and pool.properties.current_dedicated_nodes == 2
    assert pool.properties.scale_settings.fixed_scale.target_dedicated_nodes == 2
    assert pool.properties.deployment_configuration.virtual_machine_configuration.node_agent_sku_id == \
        "batch.node.ubuntu 24.04"
    assert pool.identity is None
    nodes = pool_nodes(sandbox, pool.id)
    assert len(nodes) == 2 and all(n["identities"] == [] and n["state"] == "idle" for n in nodes)
    assert all(n["id"].startswith("tvmps_") for n in nodes)


def test_account_create_is_a_long_running_operation(az, sandbox):
    with sandbox.realism.hold("lro:batch_account_create"):  # in progress for as long as the test looks
        poller = az.batch.batch_account.begin_create("rg-platform", "platformbatch", {"location": "northeurope"})
        assert az.batch.batch_account.get("rg-platform", "platformbatch").provisioning_state == "Creating"
    account = poller.result()
    assert account.provisioning_state == "Succeeded"
    assert account.account_endpoint == sandbox.batch_url(account.id).removeprefix("https://").rstrip("/")
    with pytest.raises(HttpResponseError) as err:
        az.batch.batch_account.begin_create("rg-platform", "Bad_Name", {"location": "northeurope"}).result()
    assert err.value.status_code == 400 and err.value.error.code == "AccountNameInvalid"
    assert "platformbatch" in [a.name for a in az.batch.batch_account.list()]
    az.batch.batch_account.begin_delete("rg-platform", "platformbatch").result()
    with pytest.raises(ResourceNotFoundError) as err:
        az.batch.batch_account.get("rg-platform", "platformbatch")
    assert err.value.error.code == "ResourceNotFound"


def test_pool_create_with_identity_and_etag_conditions(az):
    identity = _identity(az, "id-batch")
    created = az.batch.pool.create(RG, ACCOUNT, "pool-mi", _pool_body(0, [identity.id]))
    assigned = created.identity.user_assigned_identities[identity.id]
    assert (created.identity.type, assigned.principal_id, assigned.client_id) == \
        ("UserAssigned", identity.principal_id, identity.client_id)
    pool, etag = _get_with_etag(az, "pool-mi")
    assert etag.startswith('W/"0x') and pool.etag == etag
    updated = az.batch.pool.update(RG, ACCOUNT, "pool-mi", {"properties": {"metadata": [{"name": "k", "value": "v"}]}},
                                   etag=etag, match_condition=MatchConditions.IfNotModified)
    assert updated.properties.metadata[0].value == "v" and updated.etag != etag
    with pytest.raises(ResourceModifiedError) as err:
        az.batch.pool.update(RG, ACCOUNT, "pool-mi", {"properties": {"metadata": []}},
                             etag=etag, match_condition=MatchConditions.IfNotModified)
    assert err.value.status_code == 412 and err.value.error.code == "ConditionNotMet"
    with pytest.raises(HttpResponseError) as err:
        az.batch.pool.create(RG, ACCOUNT, "pool-mi", _pool_body(0), match_condition=MatchConditions.IfMissing)
    assert err.value.status_code == 412
    assert az.batch.pool.get(RG, ACCOUNT, "pool-mi").properties.metadata[0].value == "v"


def test_identity_change_reaches_only_nodes_allocated_after_it(az, sandbox, monkeypatch):
    """The gotcha: PATCHing a pool's identity leaves running nodes without it until the pool is scaled to 0."""
    old, new = _identity(az, "id-old"), _identity(az, "id-new")
    az.batch.pool.create(RG, ACCOUNT, "pool-drift", _pool_body(2, [old.id]))
    _wait_for_steady(az, "pool-drift", 2)
    pool_id = az.batch.pool.get(RG, ACCOUNT, "pool-drift").id
    booted = pool_nodes(sandbox, pool_id)
    assert [n["identities"] for n in booted] == [[old.id], [old.id]]

    patched = az.batch.pool.update(RG, ACCOUNT, "pool-drift", {"identity": {
        "type": "UserAssigned", "userAssignedIdentities": {new.id: {}}}})
    assert list(patched.identity.user_assigned_identities) == [new.id]
    assert patched.properties.allocation_state == "Steady" and patched.properties.current_dedicated_nodes == 2
    assert pool_nodes(sandbox, pool_id) == booted  # existing nodes are not touched
    drift = node_identity_drift(sandbox, pool_id)
    assert drift["inSync"] is False
    assert drift["missing"] == {n["id"]: [new.id] for n in booted}
    assert drift["extra"] == {n["id"]: [old.id] for n in booted}
    with pytest.raises(CredentialUnavailableError) as err:
        _vault_token(booted[0], new.client_id, monkeypatch)
    assert "Identity not found" in str(err.value)
    assert _vault_token(booted[0], old.client_id, monkeypatch)  # the node still holds what it booted with

    with sandbox.realism.hold("lro:batch_resize_down"):  # the resize is not instant: seen in progress
        az.batch.pool.update(RG, ACCOUNT, "pool-drift", {"properties": {"scaleSettings": {
            "fixedScale": {"targetDedicatedNodes": 0}}}})
        assert az.batch.pool.get(RG, ACCOUNT, "pool-drift").properties.allocation_state == "Resizing"
    _wait_for_steady(az, "pool-drift", 0)
    assert pool_nodes(sandbox, pool_id) == []
    with pytest.raises(CredentialUnavailableError):
        _vault_token(booted[0], old.client_id, monkeypatch)  # removed nodes no longer answer IMDS

    with sandbox.realism.hold("lro:batch_resize_up"):
        az.batch.pool.update(RG, ACCOUNT, "pool-drift", {"properties": {"scaleSettings": {
            "fixedScale": {"targetDedicatedNodes": 2}}}})
        assert az.batch.pool.get(RG, ACCOUNT, "pool-drift").properties.allocation_state == "Resizing"
    _wait_for_steady(az, "pool-drift", 2)
    fresh = pool_nodes(sandbox, pool_id)
    assert [n["identities"] for n in fresh] == [[new.id], [new.id]]
    assert not {n["id"] for n in fresh} & {n["id"] for n in booted}
    assert node_identity_drift(sandbox, pool_id)["inSync"] is True
    assert _vault_token(fresh[1], new.client_id, monkeypatch)


def test_resize_while_resizing_is_refused(az, sandbox):
    sandbox.realism.hold("lro:batch_resize_up")  # resizing for the whole test (the sandbox ends with it)
    az.batch.pool.update(RG, ACCOUNT, "pool-etl", {"properties": {"scaleSettings": {
        "fixedScale": {"targetDedicatedNodes": 4}}}})
    resizing = az.batch.pool.get(RG, ACCOUNT, "pool-etl")
    assert resizing.properties.allocation_state == "Resizing" and resizing.properties.current_dedicated_nodes == 2
    assert resizing.properties.resize_operation_status.target_dedicated_nodes == 4
    with pytest.raises(ResourceExistsError) as err:
        az.batch.pool.update(RG, ACCOUNT, "pool-etl", {"properties": {"scaleSettings": {
            "fixedScale": {"targetDedicatedNodes": 1}}}})
    assert err.value.status_code == 409 and err.value.error.code == "PoolBeingResized"



def test_nodes_endpoint_serves_nodes_counts_and_drift(az, sandbox, credential):
    pool = az.batch.pool.get(RG, ACCOUNT, "pool-etl")
    token = credential.get_token("https://management.azure.com/.default").token
    status, body = _raw(sandbox, f"/_sandbox/batch/nodes?poolId={pool.id}", token)
    assert status == 200
    data = json.loads(body)
    assert [n["id"] for n in data["nodes"]] == [n["id"] for n in pool_nodes(sandbox, pool.id)]
    assert data["nodeCounts"]["dedicated"]["idle"] == 2 and data["nodeCounts"]["dedicated"]["total"] == 2
    assert data["identityDrift"]["inSync"] is True and data["allocationState"] == "Steady"
    status, body = _raw(sandbox, f"/_sandbox/batch/nodes?poolId={pool.id}x", token)
    assert status == 404 and json.loads(body)["error"]["code"] == "PoolNotFound"
    status, body = _raw(sandbox, "/_sandbox/batch/nodes", token)
    assert status == 400
    status, _ = _raw(sandbox, f"/_sandbox/batch/nodes?poolId={pool.id}")
    assert status == 401


def test_list_and_delete_pool(az, sandbox):
    autoscaled = _pool_body()
    autoscaled["properties"]["scaleSettings"] = {"autoScale": {"formula": "$TargetDedicatedNodes=1;",
                                                               "evaluationInterval": "PT5M"}}
    created = az.batch.pool.create(RG, ACCOUNT, "pool-two", autoscaled)
    assert created.properties.current_dedicated_nodes == 1
    assert created.properties.auto_scale_run.results.startswith("$TargetDedicatedNodes=1;")
    assert sorted(p.name for p in az.batch.pool.list_by_batch_account(RG, ACCOUNT)) == ["pool-etl", "pool-two"]
    assert [p.name for p in az.batch.pool.list_by_batch_account(RG, ACCOUNT, maxresults=1)] == ["pool-etl", "pool-two"]
    pool_id = az.batch.pool.get(RG, ACCOUNT, "pool-two").id
    callers = {n["imds_url"] for n in pool_nodes(sandbox, pool_id)}
    with sandbox.realism.hold("lro:batch_pool_delete"):  # in progress for as long as the test looks
        poller = az.batch.pool.begin_delete(RG, ACCOUNT, "pool-two")
        assert az.batch.pool.get(RG, ACCOUNT, "pool-two").properties.provisioning_state == "Deleting"
    poller.result()
    with pytest.raises(ResourceNotFoundError) as err:
        az.batch.pool.get(RG, ACCOUNT, "pool-two")
    assert err.value.error.code == "PoolNotFound"
    from wizard.sandbox.providers.imds import CALLER
    assert not callers & {f"{sandbox.imds_url}/_callers/{c['token']}" for c in sandbox.store.list(CALLER)}
    assert [p.name for p in az.batch.pool.list_by_batch_account(RG, ACCOUNT)] == ["pool-etl"]


def _error(call) -> tuple[int, str]:
    with pytest.raises(HttpResponseError) as err:
        call()
    return err.value.status_code, err.value.error.code


def test_pool_validation_errors(az, sub_id):
    create = az.batch.pool.create
    missing_id = (f"/subscriptions/{sub_id}/resourceGroups/{RG}/providers/Microsoft.ManagedIdentity/"
                  "userAssignedIdentities/id-nope")
    system = {**_pool_body(), "identity": {"type": "SystemAssigned"}}
    assert _error(lambda: create(RG, ACCOUNT, "p1", system)) == (400, "InvalidPropertyValue")
    with pytest.raises(HttpResponseError) as err:
        create(RG, ACCOUNT, "p1", system)
    assert "user-assigned" in str(err.value) and err.value.error.target == "BatchAccount"
    assert _error(lambda: create(RG, ACCOUNT, "p1", _pool_body(0, [missing_id]))) == (400, "FailedIdentityOperation")
    assert _error(lambda: create(RG, ACCOUNT, "p1", _pool_body(0, ["not-an-id"]))) == (400, "LinkedInvalidPropertyId")
    empty = {**_pool_body(), "identity": {"type": "UserAssigned", "userAssignedIdentities": {}}}
    assert _error(lambda: create(RG, ACCOUNT, "p1", empty)) == (400, "MissingIdentityIds")
    no_config = {"properties": {"vmSize": "STANDARD_D2S_V3"}}
    assert _error(lambda: create(RG, ACCOUNT, "p1", no_config)) == (400, "MissingRequiredProperty")
    negative = {"properties": {**_pool_body()["properties"], "scaleSettings": {"fixedScale": {"targetDedicatedNodes": -1}}}}
    assert _error(lambda: create(RG, ACCOUNT, "p1", negative)) == (400, "InvalidPropertyValue")
    assert _error(lambda: create(RG, ACCOUNT, "bad.name", _pool_body())) == (400, "InvalidResourceName")
    assert _error(lambda: create(RG, "nosuchaccount", "p1", _pool_body())) == (404, "ResourceNotFound")
    assert _error(lambda: az.batch.pool.update(RG, ACCOUNT, "pool-etl", {"properties": {"vmSize": "STANDARD_D4S_V3"}})) \
        == (400, "PropertyCannotBeUpdated")
    assert _error(lambda: az.batch.pool.update(RG, ACCOUNT, "nope", {"properties": {}})) == (404, "PoolNotFound")
    assert [p.name for p in az.batch.pool.list_by_batch_account(RG, ACCOUNT)] == ["pool-etl"]
    # Removing identities: type None empties the block; the pool keeps working.
    assert az.batch.pool.update(RG, ACCOUNT, "pool-etl", {"identity": {"type": "None"}}).identity.type == "None"


def test_assigning_an_identity_needs_assign_action_on_it(sandbox, profile, az, sub_id):
    """ARM's linked access check: Contributor on the pool's group is not enough for an identity elsewhere."""
    from wizard.azure.clients import AzureClients, make_credential
    from wizard.sandbox.seed import CONTRIBUTOR, assign
    elsewhere = az.msi.user_assigned_identities.create_or_update("rg-platform", "id-elsewhere",
                                                                 {"location": "northeurope"})
    op = sandbox.add_operator("batchops", "Batch operator")
    assign(sandbox, f"/subscriptions/{sub_id}/resourceGroups/{RG}", CONTRIBUTOR, op["objectId"], "batchops:rg")
    prof = profile.with_operator(op["clientId"], op["clientSecret"])
    batch_ops = AzureClients(prof, make_credential(prof), sub_id)
    assert _error(lambda: batch_ops.batch.pool.create(RG, ACCOUNT, "pool-x", _pool_body(0, [elsewhere.id]))) == \
        (403, "LinkedAuthorizationFailed")
    managed_identity_operator = "f1a07417-d97a-45cb-824c-7a7467783830"
    assign(sandbox, elsewhere.id, managed_identity_operator, op["objectId"], "batchops:mio")
    created = batch_ops.batch.pool.create(RG, ACCOUNT, "pool-x", _pool_body(0, [elsewhere.id]))
    assert created.identity.user_assigned_identities[elsewhere.id].client_id == elsewhere.client_id
