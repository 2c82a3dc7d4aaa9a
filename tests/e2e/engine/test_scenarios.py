"""The setups people bring: names taken or soft-deleted, a Contributor-only operator, an access-policy vault,
an existing container group."""

from __future__ import annotations

import pytest

from wizard.engine import PlanError, verify_setup
from wizard.sandbox.providers.keyvault_deleted import soft_deleted_vault

from .conftest import SECRET_VALUE, assert_secret_nowhere, build_spec


def problems_of(engine) -> list[str]:
    return engine.plan().problems


def test_vault_name_taken_elsewhere_stops_at_plan_with_suggestions(harness, sandbox):
    mark = len(sandbox.calls)
    engine = harness.engine(build_spec(vault={"name": "kv-contoso"}))
    problems = problems_of(engine)
    assert len(problems) == 1 and "VaultAlreadyExists" in problems[0] and "for example: kv-contoso-" in problems[0]
    with pytest.raises(PlanError):
        engine.apply()
    assert harness.writes_since(mark) == []  # validation happened before the first write


def test_soft_deleted_name_is_recovered_by_default(harness, sandbox):
    engine = harness.engine(build_spec(vault={"name": "kv-prefect-old", "resource_group": "rg-prefect-demo"},
                                       target={"kind": "none"}))
    plan = engine.plan()
    assert plan.item("vault").action == "recover" and "recovered" in plan.item("vault").reason
    engine.apply(plan)
    assert engine.state.step("vault").outputs["name"] == "kv-prefect-old"
    assert verify_setup(engine).passed


def test_soft_deleted_name_can_be_purged_only_with_confirmation(harness, sandbox):
    spec = build_spec(vault={"name": "kv-prefect-old", "resource_group": "rg-prefect-demo", "if_soft_deleted": "purge"},
                      target={"kind": "none"})
    problems = problems_of(harness.engine(spec))
    assert problems and "confirm_purge" in problems[0]
    spec.vault.confirm_purge = True
    engine = harness.engine(spec)
    assert "PURGED" in engine.plan().item("vault").reason
    engine.apply()
    assert engine.state.step("vault").status == "done"


def test_purge_protected_name_cannot_be_purged(harness, sandbox):
    soft_deleted_vault(sandbox, sandbox.subscription_ids[0], "kv-locked", "eastus", purge_protection=True)
    spec = build_spec(vault={"name": "kv-locked", "if_soft_deleted": "purge", "confirm_purge": True})
    problems = problems_of(harness.engine(spec))
    assert problems and "purge-protected" in problems[0] and "Recover it" in problems[0]


def test_operator_without_role_assignment_write_is_stopped_at_plan_time(harness, sandbox):
    mark = len(sandbox.calls)
    engine = harness.engine(build_spec(), operator="contributor")
    problems = problems_of(engine)
    assert any("Microsoft.Authorization/roleAssignments/write" in p and "User Access Administrator" in p
               for p in problems), problems
    with pytest.raises(PlanError):
        engine.apply()
    assert harness.writes_since(mark) == []


def test_existing_access_policy_vault_gets_a_get_policy(harness, sandbox):
    spec = build_spec(vault={"name": "kv-legacy-ap", "resource_group": "rg-shared-secrets"},
                      secret={"name": "db-password"}, grant={"scope": "vault"})
    engine = harness.engine(spec)
    plan = engine.plan()
    assert plan.item("vault").action == "adopt"
    assert any("access policies" in d for d in plan.item("vault").details)
    assert plan.item("secret").action == "adopt" and plan.item("operator_access") is None
    assert plan.item("grant").action == "update" and "get" in plan.item("grant").reason
    engine.apply(plan)
    assert verify_setup(engine).passed
    vault = harness.clients().keyvault.vaults.get("rg-shared-secrets", "kv-legacy-ap")
    identity = engine.state.step("identity").outputs["principal_id"]
    policy = [p for p in vault.properties.access_policies if p.object_id == identity]
    assert [list(p.permissions.secrets) for p in policy] == [["get"]]


def test_new_access_policy_vault_applies_with_no_operator_grant_and_no_wait(harness, sandbox):
    from wizard.progress import Waiting
    sandbox.realism.rbac_propagation_s = 3600.0  # a data-plane grant for the operator would stall here for good
    spec = build_spec(vault={"name": "kv-new-policies", "access_model": "access_policy"}, grant={"scope": "vault"},
                      verify={"probe": False})  # the identity's own policy propagating is the probe's business
    engine = harness.engine(spec)
    plan = engine.plan()
    assert not plan.problems, plan.problems
    assert [i.step for i in plan.items] == ["resource_group", "identity", "vault", "secret", "grant", "aci"]
    text = " ".join(f"{i.title} {i.reason} {' '.join(i.details)}" for i in plan.items)
    assert "Secrets Officer" not in text and "RBAC vault" not in text
    assert "access policies" in plan.item("vault").reason and "Azure Resource Manager" in plan.item("secret").reason
    mark = len(sandbox.calls)
    engine.apply(plan)
    writes = harness.writes_since(mark)
    assert not [c for c in writes if "roleAssignments" in c.path], "no role assignment at all on a policy vault"
    assert not harness.sinks[-1].of(Waiting)
    vault = harness.clients().keyvault.vaults.get("rg-flows", "kv-new-policies")
    operator = sandbox.operator()["objectId"]
    assert vault.properties.enable_rbac_authorization is False
    assert [p.object_id for p in vault.properties.access_policies] == [engine.state.step("identity").outputs[
        "principal_id"]], "the operator got no policy: nothing standing is left for whoever ran the setup"
    assert operator not in [p.object_id for p in vault.properties.access_policies]


def test_access_policy_asked_on_an_rbac_vault_is_refused_with_the_reason(harness, sandbox):
    harness.engine(build_spec(target={"kind": "none"})).apply()
    spec = build_spec(target={"kind": "none"}, vault={"access_model": "access_policy"}, grant={"scope": "vault"})
    problems = problems_of(harness.engine(spec))
    assert problems and "ignores access policies" in problems[0]


def test_existing_container_group_gains_the_identity_and_keeps_its_properties(harness, sandbox):
    az = harness.clients()
    before = az.aci.container_groups.get("rg-prefect-demo", "cg-prefect-worker")
    spec = build_spec(resource_group="rg-prefect-demo", target={"container_group": "cg-prefect-worker",
                                                                 "existing": True})
    engine = harness.engine(spec)
    plan = engine.plan()
    assert plan.item("aci").action == "update"
    assert any("restart" in d for d in plan.item("aci").details)
    engine.apply(plan)
    assert verify_setup(engine).passed
    after = az.aci.container_groups.get("rg-prefect-demo", "cg-prefect-worker")
    identity = engine.state.step("identity").outputs
    assert identity["id"].lower() in {k.lower() for k in after.identity.user_assigned_identities}
    old, new = before.containers[0], after.containers[0]
    assert (new.image, new.command, new.resources.requests.cpu, new.resources.requests.memory_in_gb) == (
        old.image, old.command, old.resources.requests.cpu, old.resources.requests.memory_in_gb)
    assert (after.restart_policy, after.os_type, after.location) == (before.restart_policy, before.os_type,
                                                                     before.location)
    env = {v.name: v.value for v in new.environment_variables}
    assert env["AZURE_CLIENT_ID"] == identity["client_id"]
    assert {v.name: v.value for v in old.environment_variables or []}.items() <= env.items()
    assert_secret_nowhere(harness.state_dir)
