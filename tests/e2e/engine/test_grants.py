"""Grants on other resources for an identity that already exists (a platform's own `userflyterole`): Storage
Blob Data Contributor on one container, AcrPull on a registry, Key Vault Secrets User on one secret of another
vault; the curated least-privilege list, scopes read before any write, and the broken grant named."""

from __future__ import annotations

import pytest

from wizard.azure import roles
from wizard.engine import PlanError, verify_setup
from wizard.steps.base import assignment_name
from wizard.verify import Checker, Target

from .conftest import SECRET_VALUE, build_spec

PLATFORM = "rg-platform"
RAW = (f"resourceGroups/{PLATFORM}/providers/Microsoft.Storage/storageAccounts/stcontosodata/blobServices/default/"
       "containers/raw")
ACR = f"resourceGroups/{PLATFORM}/providers/Microsoft.ContainerRegistry/registries/acrcontoso"


def platform_spec(grants: list[dict], **identity) -> object:
    return build_spec(resource_group=PLATFORM, location="northeurope", vault={"name": ""}, target={"kind": "none"},
                      identity={"name": "userflyterole", "existing": True, **identity}, grant_extra=grants)


@pytest.fixture
def other_vault(harness, sandbox) -> str:
    """An RBAC vault of another team, with a secret: the scope of a per-secret grant."""
    az = harness.clients()
    az.resources.resource_groups.create_or_update("rg-team-secrets", {"location": "eastus"})
    vault = az.keyvault.vaults.begin_create_or_update("rg-team-secrets", "kv-team-secrets", {
        "location": "eastus", "properties": {"tenantId": sandbox.tenant_id, "sku": {"family": "A", "name": "standard"},
                                             "enableRbacAuthorization": True}}).result()
    operator = sandbox.operator()["objectId"]
    scope = vault.id
    az.authorization.role_assignments.create(scope, assignment_name(scope, operator, roles.SECRETS_OFFICER.guid), {
        "properties": {"roleDefinitionId": roles.SECRETS_OFFICER.definition_id(sandbox.subscription_ids[0]),
                       "principalId": operator, "principalType": "ServicePrincipal"}})
    az.secrets(vault.properties.vault_uri).set_secret("flyte-db", SECRET_VALUE)
    return "resourceGroups/rg-team-secrets/providers/Microsoft.KeyVault/vaults/kv-team-secrets/secrets/flyte-db"


def test_an_existing_identity_gets_a_container_a_registry_and_one_secret_of_another_vault(harness, sandbox,
                                                                                         other_vault):
    grants = [{"role": "Storage Blob Data Contributor", "scope": RAW, "note": "workflow data"},
              {"role": "AcrPull", "scope": ACR}, {"role": "Key Vault Secrets User", "scope": other_vault}]
    mark = len(sandbox.calls)
    engine = harness.engine(platform_spec(grants))
    plan = engine.plan()
    assert not plan.problems, plan.problems
    assert [(i.step, i.action) for i in plan.items] == [("resource_group", "adopt"), ("identity", "adopt"),
                                                       ("grants", "create")]
    assert any("Read, write and delete blobs" in d for d in plan.item("grants").details)
    state = engine.apply(plan)
    writes = harness.writes_since(mark)
    assert [c.operation for c in writes] == ["role_assignment_create"] * 3  # the identity itself is untouched
    report = verify_setup(engine)
    assert report.passed, report.to_dict()
    assert [link.name for link in report.links] == ["identity", "grant_extra:Storage Blob Data Contributor@raw",
                                                    "grant_extra:AcrPull@acrcontoso",
                                                    "grant_extra:Key Vault Secrets User@flyte-db"]
    principal = state.step("identity").outputs["principal_id"]
    sub = sandbox.subscription_ids[0]
    az = harness.clients()
    for grant, role in zip(state.step("grants").outputs["grants"], (roles.STORAGE_BLOB_DATA_CONTRIBUTOR,
                                                                   roles.ACR_PULL, roles.SECRETS_USER)):
        assert grant["assignment_name"] == assignment_name(grant["scope"], principal, role.guid)
        assignment = az.authorization.role_assignments.get(grant["scope"], grant["assignment_name"])
        assert assignment.scope == grant["scope"] and assignment.principal_type == "ServicePrincipal"
    assert state.step("grants").outputs["grants"][2]["scope"] == f"/subscriptions/{sub}/{other_vault}"
    mark = len(sandbox.calls)
    again = harness.engine(platform_spec(grants))
    assert {i.action for i in again.plan().items} == {"nothing"}
    again.apply()
    assert verify_setup(again).passed and harness.writes_since(mark) == []
    # Deleted out of band: verify names that grant; doctor says the same for a setup it did not make.
    gone = state.step("grants").outputs["grants"][1]
    az.authorization.role_assignments.delete(gone["scope"], gone["assignment_name"])
    report = verify_setup(again, probe=False)
    assert report.broken.name == "grant_extra:AcrPull@acrcontoso" and "does not hold AcrPull" in report.broken.detail
    doctor = Checker(az, Target(state.step("identity").outputs["id"], grants=[
        {"role": "AcrPull", "scope": gone["scope"]}])).run()
    assert doctor.broken.name == "grant_extra:AcrPull@acrcontoso"


def test_a_role_on_an_access_policy_vault_is_refused_with_the_reason(harness, sandbox):
    legacy = "resourceGroups/rg-shared-secrets/providers/Microsoft.KeyVault/vaults/kv-legacy-ap/secrets/db-password"
    spec = platform_spec([{"role": "Key Vault Secrets User", "scope": legacy}])
    mark = len(sandbox.calls)
    engine = harness.engine(spec)
    problems = engine.plan().problems
    assert len(problems) == 1 and "uses access policies" in problems[0] and "access policy" in problems[0]
    with pytest.raises(PlanError):
        engine.apply()
    assert harness.writes_since(mark) == []


@pytest.mark.parametrize("grant,expected", [
    ({"role": "AcrPull", "scope": f"resourceGroups/{PLATFORM}/providers/Microsoft.ContainerRegistry/registries/nope"},
     "nothing exists at"),
    ({"role": "AcrPull", "scope": RAW}, "AcrPull does nothing on a container"),
    ({"role": "Storage Blob Data Reader", "scope": "resourceGroups/rg-nowhere"}, "nothing exists at"),
])
def test_scopes_are_read_and_checked_before_any_write(harness, sandbox, grant, expected):
    mark = len(sandbox.calls)
    problems = harness.engine(platform_spec([grant])).plan().problems
    assert any(expected in p for p in problems), problems
    assert harness.writes_since(mark) == []


def test_broad_roles_are_warned_and_roles_off_the_list_need_allow_any_role(harness, sandbox):
    plan = harness.engine(platform_spec([{"role": "Contributor", "scope": f"resourceGroups/{PLATFORM}"}])).plan()
    assert not plan.problems and any("Contributor manages every resource" in d for d in plan.item("grants").details)
    off_list = {"role": "Managed Identity Operator", "scope": f"resourceGroups/{PLATFORM}"}
    assert any("not in mi-wizard's least-privilege list" in p for p in platform_spec([off_list]).validate())
    engine = harness.engine(platform_spec([{**off_list, "allow_any_role": True}]))
    plan = engine.plan()
    assert not plan.problems and any("not in mi-wizard's least-privilege list" in d
                                     for d in plan.item("grants").details)
    engine.apply(plan)
    assert verify_setup(engine).passed


def test_an_existing_identity_that_is_not_there_stops_the_plan(harness, sandbox):
    mark = len(sandbox.calls)
    problems = harness.engine(platform_spec([{"role": "AcrPull", "scope": ACR}], name="userflyrole")).plan().problems
    assert any("identity.existing = true" in p for p in problems), problems
    assert harness.writes_since(mark) == []
