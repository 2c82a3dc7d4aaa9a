"""`mi-wizard destroy`: for every example, apply then destroy leaves the sandbox as it was (what the setup made is
gone, what it adopted is back as it was), and the same spec applies again from nothing; a destroy killed after
any of its writes resumes to the same end; a group that now holds a foreign resource is kept, with the reason."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from wizard import teardown
from wizard.progress import StepMessage
from wizard.sandbox.arm import RESOURCE
from wizard.sandbox.authz import ROLE_ASSIGNMENT
from wizard.sandbox.providers.keyvault_deleted import DELETED_VAULT
from wizard.spec import load_spec
from wizard.state_store import StateStore

from .engine.conftest import Harness, build_spec
from .test_examples import EXAMPLES, ROOT
from .test_examples import run as run  # noqa: F401 - the CLI fixture

ALL_EXAMPLES = ["prefect-aci", *EXAMPLES]
VOLATILE = {"systemData", "etag", "_sandbox", "instanceView", "updatedOn", "lastModified", "allocationStateTransitionTime",
            "provisioningStateTransitionTime", "resizeOperationStatus", "currentDedicatedNodes",
            "currentLowPriorityNodes", "allocationState", "provisioningState", "lastModifiedAt"}


def _clean(value):
    if isinstance(value, dict):
        if value.get("identity") == {"type": "None"}:  # how Azure says "no identity" once one was removed
            value = {k: v for k, v in value.items() if k != "identity"}
        return {k: _clean(v) for k, v in value.items() if k not in VOLATILE}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value


def snapshot(sandbox) -> dict[str, dict]:
    """Everything the sandbox holds that a setup can make or change: ARM resources (groups, identities and their
    federated credentials, vaults and secrets, container groups, pools, ...), role assignments, deleted vaults."""
    out = {}
    for kind in (RESOURCE, ROLE_ASSIGNMENT, DELETED_VAULT):
        for item in sandbox.store.list(kind):
            out[f"{kind}:{item['id'].lower()}"] = _clean(item)
    return out


@pytest.fixture
def harness(sandbox, tmp_path) -> Harness:
    sandbox.realism.lro_seconds.update(batch_resize_down=0.1, batch_resize_up=0.1)
    return Harness(sandbox, tmp_path / "state")


def _destroy(harness: Harness, name: str, *, purge: bool = True, sink=None):
    store = StateStore(harness.state_dir / f"{name}.json")
    state = store.load()
    clients = harness.clients()
    plan = teardown.plan(clients, state, purge=purge)
    return plan, teardown.run(clients, store, state, plan, **({"sink": sink} if sink else {}))


@pytest.mark.parametrize("name", ALL_EXAMPLES)
def test_destroy_of_each_example_leaves_the_sandbox_as_it_was_and_the_spec_applies_again(harness, sandbox, name):
    spec = load_spec(ROOT / "examples" / f"{name}.toml")
    before = snapshot(sandbox)
    harness.engine(spec).apply()
    applied = snapshot(sandbox)
    made = set(applied) - set(before)
    assert made, "the setup made something"
    state = StateStore(harness.state_dir / f"{name}.json").load()
    created = [r for r in state.provenance.values() if r["origin"] == "created"]
    for record in created:
        if record["kind"] in ("identity", "vault", "resource_group", "container_group", "pool"):
            tags = applied[f"resource:{record['id'].lower()}"].get("tags") or {
                m["name"]: m["value"] for m in applied[f"resource:{record['id'].lower()}"]["properties"].get(
                    "metadata", [])}
            assert tags.get("mi-wizard-setup") == name and tags.get("created-by") == "mi-wizard", record
    assignments = [v for k, v in applied.items() if k in made and k.startswith(ROLE_ASSIGNMENT)]
    assert assignments and all(a["properties"]["description"] == f"Made by mi-wizard for setup {name}"
                               for a in assignments)

    plan, final = _destroy(harness, name)
    assert plan.writes and not plan.foreign
    after = snapshot(sandbox)
    assert sorted(set(after) - set(before)) == [], "everything the setup made is gone"
    assert sorted(set(before) - set(after)) == [], "nothing that was there before is gone"
    changed = [k for k in before if before[k] != after[k]]
    assert changed == [], [(k, before[k], after[k]) for k in changed]
    assert final.teardown["status"] == "done" and final.provenance == {} and final.steps == {}

    again = harness.engine(spec)
    plan_again = again.plan()
    assert not plan_again.problems
    assert {i.action for i in plan_again.items} - {"check"} <= {"create", "update", "adopt", "nothing"}
    again.apply()
    reapplied = StateStore(harness.state_dir / f"{name}.json").load()
    assert {k: r["origin"] for k, r in reapplied.provenance.items()} == {
        k: r["origin"] for k, r in state.provenance.items()}


def test_provenance_survives_a_no_op_reapply(harness, sandbox):
    spec = load_spec(ROOT / "examples" / "prefect-aci.toml")
    harness.engine(spec).apply()
    first = StateStore(harness.state_dir / "prefect-aci.json").load().provenance
    second = harness.engine(spec)
    plan = second.plan()
    assert not plan.writes and {i.action for i in plan.items} - {"check"} == {"nothing"}
    second.apply()
    again = StateStore(harness.state_dir / "prefect-aci.json").load().provenance
    assert {k: r["origin"] for k, r in again.items()} == {k: r["origin"] for k, r in first.items()}
    assert again["identity"]["origin"] == "created" and again["resource_group:rg-prefect-flows"]["origin"] == "created"


class KillAfter:
    """A progress sink that stops the run (as Ctrl-C or a kill would) right after the Nth Azure write."""

    def __init__(self, n: int):
        self.n, self.writes = n, 0

    def __call__(self, event) -> None:
        if isinstance(event, StepMessage):
            self.writes += 1
            if self.writes == self.n:
                raise KeyboardInterrupt


@pytest.mark.parametrize("name", ["prefect-aci", "batch-pool"])
def test_destroy_killed_after_each_write_resumes_to_the_same_end(harness, sandbox, name):
    spec = load_spec(ROOT / "examples" / f"{name}.toml")
    before = snapshot(sandbox)
    harness.engine(spec).apply()
    clean_plan, _ = _destroy(harness, name)  # how many writes a whole destroy makes
    reference = snapshot(sandbox)
    assert reference == before
    total = len(clean_plan.writes) + sum(1 for a in clean_plan.writes if a.data.get("purge"))
    for n in range(1, total + 1):
        harness.engine(spec).apply()
        with pytest.raises(KeyboardInterrupt):
            _destroy(harness, name, sink=KillAfter(n))
        state = StateStore(harness.state_dir / f"{name}.json").load()
        assert state.teardown["status"] == "running"
        _destroy(harness, name)  # resumed, with no error
        assert snapshot(sandbox) == reference, f"killed after write {n}"
        assert StateStore(harness.state_dir / f"{name}.json").load().teardown["status"] == "done"
    again, _ = _destroy(harness, name)  # idempotent: nothing left to do
    assert again.writes == []


def test_a_group_that_holds_a_foreign_resource_is_kept_and_the_plan_says_why(harness, sandbox, az):
    spec = build_spec(name="foreign", resource_group="rg-foreign", target={"kind": "none"})
    harness.engine(spec).apply()
    az.msi.user_assigned_identities.create_or_update("rg-foreign", "id-someone-else", {"location": "eastus"})
    plan, final = _destroy(harness, "foreign")
    group = next(a for a in plan.actions if a.kind == "resource_group")
    assert group.do == "keep" and "id-someone-else" in group.reason
    assert any("id-someone-else" in f for f in plan.foreign)
    assert az.resources.resource_groups.get("rg-foreign") is not None
    assert [r.name for r in az.resources.resources.list_by_resource_group("rg-foreign")] == ["id-someone-else"]
    assert any(k["kind"] == "resource_group" and "id-someone-else" in k["reason"] for k in final.teardown["kept"])


def test_destroy_cli_plans_refuses_without_yes_and_keeps_a_soft_deleted_vault_without_purge(run, tmp_path):  # noqa: F811
    assert run("apply", "examples/prefect-aci.toml", "--sandbox", "--yes", "--secret-from", "env:EXAMPLE_SECRET",
               "--no-verify").returncode == 0
    planned = run("destroy", "prefect-aci", "--plan", "--sandbox", "--json")
    assert planned.returncode == 0, planned.stderr
    plan = json.loads(planned.stdout)
    goes = {a["kind"] for a in plan["goes"]}
    assert {"identity", "vault", "role_assignment", "container_group", "resource_group"} <= goes
    refused = run("destroy", "prefect-aci", "--sandbox")
    assert refused.returncode == 2 and "--yes" in refused.stdout
    done = run("destroy", "prefect-aci", "--sandbox", "--yes", "--json")
    assert done.returncode == 0, done.stdout + done.stderr
    vault = next(a for a in json.loads(done.stdout)["goes"] if a["kind"] == "vault")
    assert "soft-deleted" in vault["reason"]
    assert run("destroy", "prefect-aci", "--sandbox", "--yes").returncode == 0  # nothing left: still fine
    reapplied = run("apply", "examples/prefect-aci.toml", "--sandbox", "--yes", "--secret-from", "env:EXAMPLE_SECRET",
                    "--no-verify", "--json")
    assert reapplied.returncode == 0, reapplied.stdout  # the soft-deleted vault is recovered by default
    assert Path(tmp_path / "state" / "prefect-aci.json").exists()
