"""Azure Batch pools on the sandbox: a new pool created with the identity; an existing pool with nodes, whose
nodes keep the identities they booted with, so the identity reaches them only after a confirmed scale to 0
and back; a run killed right after the scale-to-0 PATCH resumes and restores the original node count."""

from __future__ import annotations

import json
import signal

import pytest

from wizard.engine import verify_setup
from wizard.progress import StepMessage
from wizard.sandbox.providers.batch_nodes import node_identity_drift, pool_nodes

from .conftest import assert_secret_nowhere, build_spec
from .test_resume import run_cli_until_killed

RG, ACCOUNT = "rg-batch-jobs", "contosobatch"
PATCH = "batch_pool_patch_identity"  # the sandbox's name for every pool PATCH (identity or scale)


def batch_spec(**target) -> object:
    return build_spec(resource_group=RG, location="westeurope",
                      target={"kind": "batch", "account": ACCOUNT, "pool": "pool-etl", "existing": True, **target})


@pytest.fixture(autouse=True)
def quick_resizes(sandbox):
    sandbox.realism.lro_seconds.update(batch_resize_down=0.2, batch_resize_up=0.2)


def pool_id(sandbox, pool: str) -> str:
    return (f"/subscriptions/{sandbox.subscription_ids[0]}/resourceGroups/{RG}/providers/Microsoft.Batch/"
            f"batchAccounts/{ACCOUNT}/pools/{pool}")


def pool_patches(sandbox, since: int = 0) -> list:
    return [c for c in sandbox.calls[since:] if c.operation == PATCH and 200 <= c.status < 300]


def test_new_pool_is_created_with_the_identity_and_the_probe_task_passes(harness, sandbox):
    spec = batch_spec(pool="pool-secure", existing=False, dedicated_nodes=1)
    engine = harness.engine(spec)
    plan = engine.plan()
    assert not plan.problems, plan.problems
    assert plan.item("batch").action == "create" and plan.item("rescale").action == "nothing"
    state = engine.apply(plan)
    report = verify_setup(engine)
    assert report.passed, report.to_dict()
    assert [link.name for link in report.links] == ["identity", "attached", "grant", "secret", "nodes", "probe"]
    assert report.verdict["ok"] and report.verdict["version"] == state.step("secret").outputs["version"]
    assert state.step("batch").outputs["created"] is True
    nodes = pool_nodes(sandbox, pool_id(sandbox, "pool-secure"))
    assert len(nodes) == 1 and nodes[0]["identities"] == [state.step("identity").outputs["id"]]
    # The probe's job is gone afterwards, and the secret value went nowhere.
    az = harness.clients()
    jobs = az.batch_data(az.batch.batch_account.get(RG, ACCOUNT).account_endpoint).list_jobs()
    assert [j.id for j in jobs if j.state != "deleting"] == []
    assert_secret_nowhere(harness.state_dir)
    mark = len(sandbox.calls)
    again = harness.engine(spec)
    assert {i.action for i in again.plan().items} == {"nothing"}
    again.apply()
    assert verify_setup(again).passed and harness.writes_since(mark) == []


def test_existing_pool_with_nodes_needs_a_confirmed_rescale_then_restores_its_counts(harness, sandbox):
    engine = harness.engine(batch_spec())
    plan = engine.plan()
    assert plan.item("batch").action == "update"
    assert any("will NOT get the identity" in d for d in plan.item("batch").details)
    rescale = plan.item("rescale")
    assert rescale.action == "nothing" and "rescale_for_identity = true" in rescale.reason
    assert any("Downtime" in d for d in rescale.details)
    engine.apply(plan)
    report = verify_setup(engine)
    assert not report.passed and report.broken.name == "nodes"
    assert "booted before" in report.broken.detail and "rescale_for_identity" in report.broken.fix
    drift = node_identity_drift(sandbox, pool_id(sandbox, "pool-etl"))
    assert len(drift["missing"]) == 2  # both nodes lack it: the pool was never scaled

    # The newcomer confirms: scale to 0, restore 2, and the probe task passes.
    confirmed = batch_spec(rescale_for_identity=True)
    mark = len(sandbox.calls)
    engine = harness.engine(confirmed)
    plan = engine.plan()
    assert plan.item("batch").action == "nothing" and plan.item("rescale").action == "update"
    assert "back to 2 dedicated / 0 low-priority" in plan.item("rescale").reason
    state = engine.apply(plan)
    assert len(pool_patches(sandbox, mark)) == 2  # to 0, then back: the identity was not sent again
    assert state.step("rescale").outputs["original"] == {"auto_scale": None, "dedicated": 2, "low_priority": 0}
    assert state.step("rescale").outputs["phase"] == "done" and state.step("rescale").lro is None
    messages = [e.text for e in harness.sinks[-1].of(StepMessage) if e.step == "rescale"]
    assert messages == ["Scaling pool-etl to 0 nodes", "Restoring pool-etl to 2 dedicated / 0 low-priority nodes"]
    assert node_identity_drift(sandbox, pool_id(sandbox, "pool-etl"))["inSync"]
    assert len(pool_nodes(sandbox, pool_id(sandbox, "pool-etl"))) == 2
    report = verify_setup(engine)
    assert report.passed, report.to_dict()

    mark = len(sandbox.calls)
    again = harness.engine(confirmed)
    assert {i.action for i in again.plan().items} == {"nothing"}
    again.apply()
    assert verify_setup(again).passed and harness.writes_since(mark) == []


def test_identity_patch_keeps_a_concurrent_change_to_the_pool(harness, sandbox):
    """The PATCH carries If-Match: a change made between our read and our write is re-read, never overwritten."""
    az = harness.clients()
    other = az.msi.user_assigned_identities.create_or_update(RG, "id-other-team", {"location": "westeurope"})
    raced = []

    def other_team_writes(call) -> None:
        # Another client changes the pool the moment Azure has answered the engine's read, before the engine
        # hears back: the engine's ETag is stale by the time it PATCHes.
        if call.plane == "arm" and call.method == "GET" and call.path.lower().endswith("/pools/pool-etl") and not raced:
            raced.append(True)
            az.batch.pool.update(RG, ACCOUNT, "pool-etl", {"identity": {"type": "UserAssigned",
                                                                        "userAssignedIdentities": {other.id: {}}}})

    engine = harness.engine(batch_spec(rescale_for_identity=True))
    plan = engine.plan()
    sandbox.observers.append(other_team_writes)
    engine.apply(plan)
    pool = az.batch.pool.get(RG, ACCOUNT, "pool-etl")
    ids = {k.lower() for k in pool.identity.user_assigned_identities}
    assert ids == {other.id.lower(), engine.state.step("identity").outputs["id"].lower()}
    assert [c.status for c in sandbox.calls if c.operation == PATCH][:2] == [200, 412]


def test_autoscale_pool_gets_its_formula_back(harness, sandbox):
    az = harness.clients()
    az.batch.pool.create(RG, ACCOUNT, "pool-auto", {"properties": {
        "vmSize": "STANDARD_D2S_V3", "deploymentConfiguration": {"virtualMachineConfiguration": {
            "imageReference": {"publisher": "canonical", "offer": "ubuntu-24_04-lts", "sku": "server",
                               "version": "latest"}, "nodeAgentSkuId": "batch.node.ubuntu 24.04"}},
        "scaleSettings": {"autoScale": {"formula": "$TargetDedicatedNodes=1;", "evaluationInterval": "PT5M"}}}})
    engine = harness.engine(batch_spec(pool="pool-auto", rescale_for_identity=True))
    engine.apply()
    assert verify_setup(engine).passed
    pool = az.batch.pool.get(RG, ACCOUNT, "pool-auto")
    assert pool.properties.scale_settings.auto_scale.formula == "$TargetDedicatedNodes=1;"
    assert pool.properties.current_dedicated_nodes == 1


def test_run_killed_after_the_scale_to_zero_resumes_and_restores_the_original_count(harness, sandbox, tmp_path):
    # PATCH #1 adds the identity, PATCH #2 scales the pool to 0: the run is killed as soon as Azure accepts it.
    code = run_cli_until_killed(sandbox, tmp_path, PATCH, 2, spec=batch_spec(rescale_for_identity=True))
    assert code == -signal.SIGKILL
    saved = json.loads((harness.state_dir / "test-setup.json").read_text())["steps"]["rescale"]
    assert saved["status"] == "running" and saved["lro"]["phase"] == "scaling_down"
    assert saved["lro"]["original"] == {"auto_scale": None, "dedicated": 2, "low_priority": 0}
    az = harness.clients()
    fixed = az.batch.pool.get(RG, ACCOUNT, "pool-etl").properties.scale_settings.fixed_scale
    assert fixed.target_dedicated_nodes == 0  # the pool was left heading to zero

    resumed = harness.engine(batch_spec(rescale_for_identity=True))
    plan = resumed.plan()
    assert plan.item("rescale").action == "update" and "interrupted" in plan.item("rescale").reason
    state = resumed.apply(plan)
    assert state.step("rescale").outputs["phase"] == "done"
    pool = az.batch.pool.get(RG, ACCOUNT, "pool-etl")
    assert pool.properties.scale_settings.fixed_scale.target_dedicated_nodes == 2
    assert pool.properties.current_dedicated_nodes == 2
    assert node_identity_drift(sandbox, pool_id(sandbox, "pool-etl"))["inSync"]
    assert verify_setup(resumed).passed
    assert_secret_nowhere(harness.state_dir)
