"""A setup made by hand the way tutorial 000 does it with `az` (identity, access-policy vault, secret, a `get`
policy, a container group with the identity): `doctor` passes it, and `apply` of the matching spec adopts it
without changing anything."""

from __future__ import annotations

from azure.mgmt.containerinstance import models as m

from wizard.engine import verify_setup
from wizard.verify import Checker, Target

from .conftest import SECRET_VALUE, assert_secret_nowhere, build_spec

RG, IDENTITY, VAULT, SECRET, GROUP = "aci-prefect-agent", "myaciid", "prefectkeyvault1234", "bucketaccess", "aci-flow-run"


def make_by_hand(az, sandbox) -> dict:
    operator = sandbox.operator()
    az.resources.resource_groups.create_or_update(RG, {"location": "eastus"})              # az group create
    identity = az.msi.user_assigned_identities.create_or_update(RG, IDENTITY, {"location": "eastus"})  # az identity create
    # az keyvault create (2023: access policies, with a full policy for the creator)
    vault = az.keyvault.vaults.begin_create_or_update(RG, VAULT, {"location": "eastus", "properties": {
        "tenantId": sandbox.tenant_id, "sku": {"family": "A", "name": "standard"}, "enableRbacAuthorization": False,
        "accessPolicies": [{"tenantId": sandbox.tenant_id, "objectId": operator["objectId"],
                            "permissions": {"secrets": ["all"]}}]}}).result()
    az.secrets(vault.properties.vault_uri).set_secret(SECRET, SECRET_VALUE)                # az keyvault secret set
    az.keyvault.vaults.update_access_policy(RG, VAULT, "add", {"properties": {"accessPolicies": [{   # az keyvault set-policy
        "tenantId": sandbox.tenant_id, "objectId": identity.principal_id, "permissions": {"secrets": ["get"]}}]}})
    group = az.aci.container_groups.begin_create_or_update(RG, GROUP, m.ContainerGroup(      # the work pool's flow run
        location="eastus", os_type="Linux", restart_policy="Always",
        identity=m.ContainerGroupIdentity(type="UserAssigned", user_assigned_identities={identity.id: {}}),
        containers=[m.Container(name="flow", image="prefecthq/prefect:3-latest",
                                environment_variables=[m.EnvironmentVariable(name="AZURE_CLIENT_ID",
                                                                             value=identity.client_id)],
                                resources=m.ResourceRequirements(requests=m.ResourceRequests(cpu=1, memory_in_gb=1)))]
    )).result()
    return {"identity": identity, "vault": vault, "group": group}


def test_doctor_passes_a_handmade_setup(harness, sandbox):
    az = harness.clients()
    made = make_by_hand(az, sandbox)
    report = Checker(az, Target(made["identity"].id, VAULT, SECRET, made["group"].id)).run()
    assert report.passed, report.to_dict()
    assert [link.name for link in report.links] == ["identity", "attached", "grant", "secret", "probe"]


def test_doctor_names_the_broken_link(harness, sandbox):
    az = harness.clients()
    made = make_by_hand(az, sandbox)
    az.keyvault.vaults.update_access_policy(RG, VAULT, "remove", {"properties": {"accessPolicies": [{
        "tenantId": sandbox.tenant_id, "objectId": made["identity"].principal_id, "permissions": {"secrets": ["get"]}}]}})
    report = Checker(az, Target(made["identity"].id, VAULT, SECRET, made["group"].id)).run()
    assert report.broken.name == "grant" and "access policies" in report.broken.detail
    assert report.verdict and report.verdict["code"] == "AccessDenied"


def test_apply_adopts_a_handmade_setup_without_changes(harness, sandbox):
    az = harness.clients()
    make_by_hand(az, sandbox)
    spec = build_spec(resource_group=RG, identity={"name": IDENTITY},
                      vault={"name": VAULT, "access_model": "access_policy"}, secret={"name": SECRET},
                      grant={"scope": "vault"}, target={"container_group": GROUP, "existing": True})
    mark = len(sandbox.calls)
    engine = harness.engine(spec)
    plan = engine.plan()
    assert not plan.problems, plan.problems
    # Nothing to change: adopt or nothing, and the live probe checks what was adopted (it changes nothing).
    assert {i.action for i in plan.items} <= {"adopt", "nothing", "check"}, [(i.step, i.action) for i in plan.items]
    assert not plan.writes
    engine.apply(plan)
    assert verify_setup(engine).passed
    assert harness.writes_since(mark) == [c for c in harness.writes_since(mark) if "probe" in c.path]
    assert_secret_nowhere(harness.state_dir)
