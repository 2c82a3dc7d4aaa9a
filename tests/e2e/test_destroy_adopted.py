"""Destroy reverts what a setup changed on resources it adopted and deletes none of them: the demo's running
container group (the identity and AZURE_CLIENT_ID it was given) and an access-policy vault with its secret (the
policy it was given). Afterwards the sandbox holds exactly what it held before the apply."""

from __future__ import annotations

import pytest

from .engine.conftest import Harness, build_spec
from .test_destroy import _destroy, snapshot


@pytest.fixture
def harness(sandbox, tmp_path) -> Harness:
    return Harness(sandbox, tmp_path / "state")


ADOPTING = dict(
    resource_group="rg-prefect-demo",
    vault={"name": "kv-legacy-ap", "resource_group": "rg-shared-secrets", "access_model": "access_policy"},
    secret={"name": "db-password"}, grant={"scope": "vault"},
    target={"kind": "aci", "existing": True, "container_group": "cg-prefect-worker"},
)


def test_destroy_reverts_an_adopted_container_group_and_access_policy_vault(harness, sandbox):
    spec = build_spec(**ADOPTING)
    before = snapshot(sandbox)
    harness.engine(spec).apply()
    az = harness.clients()
    group = az.aci.container_groups.get("rg-prefect-demo", "cg-prefect-worker")
    identity = az.msi.user_assigned_identities.get("rg-prefect-demo", "id-flows")
    assert identity.id.lower() in {k.lower() for k in (group.identity.user_assigned_identities or {})}
    vault = az.keyvault.vaults.get("rg-shared-secrets", "kv-legacy-ap")
    assert identity.principal_id in {p.object_id for p in vault.properties.access_policies}

    plan, final = _destroy(harness, "test-setup")
    after = snapshot(sandbox)
    assert sorted(set(after) - set(before)) == [], "everything the setup made is gone"
    assert sorted(set(before) - set(after)) == [], "nothing it adopted is gone"
    changed = [k for k in before if before[k] != after[k]]
    assert changed == [], [(k, before[k], after[k]) for k in changed]
    assert final.teardown["status"] == "done"
    assert plan.writes and not plan.foreign
