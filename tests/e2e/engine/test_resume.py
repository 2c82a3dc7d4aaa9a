"""A run killed (SIGKILL) right after Azure accepts each write, in turn, resumes to the same final state
with no duplicate resource, secret version or role assignment."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from wizard.engine import verify_setup

from .conftest import SECRET_VALUE, assert_secret_nowhere, build_spec

# (sandbox operation, which occurrence): every write a full setup makes, in order.
# The two container group creates are the workload's and the live probe's (which comes first varies).
KILL_POINTS = [("resource_group_create", 1), ("managed_identity_create", 1), ("keyvault_create", 1),
               ("keyvault_secret_arm_put", 1), ("role_assignment_create", 1), ("aci_create", 1), ("aci_create", 2)]


def write_spec(tmp_path: Path, spec=None) -> Path:
    from wizard.spec import dump_spec
    path = tmp_path / "setup.toml"
    path.write_text(dump_spec(spec or build_spec()))
    return path


def run_cli_until_killed(sandbox, tmp_path: Path, operation: str, occurrence: int, spec=None) -> int:
    """Run `mi-wizard apply` (of `spec`, default the ACI one) in a subprocess and SIGKILL it as soon as the sandbox
    has accepted the `occurrence`-th write of `operation`."""
    descriptor = tmp_path / "sandbox.json"
    sandbox.write_descriptor(descriptor)
    env = {**os.environ, "MI_TEST_SECRET": SECRET_VALUE, "MI_WIZARD_STATE_DIR": str(tmp_path / "state")}
    proc = subprocess.Popen([sys.executable, "-m", "wizard", "apply", str(write_spec(tmp_path, spec)), "--yes",
                             "--json",
                             "--sandbox-descriptor", str(descriptor), "--secret-from", "env:MI_TEST_SECRET"],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    seen, killed = [0], threading.Event()

    def observe(call) -> None:
        if call.operation == operation and call.method != "GET" and 200 <= call.status < 300:
            seen[0] += 1
            if seen[0] == occurrence and not killed.is_set():
                proc.send_signal(signal.SIGKILL)
                killed.set()

    sandbox.observers.append(observe)
    try:
        proc.communicate(timeout=120)
    finally:
        sandbox.observers.remove(observe)
    assert killed.is_set(), f"the run never reached {operation} #{occurrence}"
    return proc.returncode


@pytest.mark.parametrize("operation,occurrence", KILL_POINTS, ids=[f"{o}-{n}" for o, n in KILL_POINTS])
def test_killed_run_resumes_without_duplicates(harness, sandbox, tmp_path, operation, occurrence):
    harness.state_dir = tmp_path / "state"
    code = run_cli_until_killed(sandbox, tmp_path, operation, occurrence)
    assert code == -signal.SIGKILL
    state_file = harness.state_dir / "test-setup.json"
    assert json.loads(state_file.read_text())["name"] == "test-setup"  # intact, readable
    engine = harness.engine(build_spec())
    engine.apply()
    assert verify_setup(engine).passed
    az = harness.clients()
    assert [i.name for i in az.msi.user_assigned_identities.list_by_resource_group("rg-flows")] == ["id-flows"]
    assert [g.name for g in az.aci.container_groups.list_by_resource_group("rg-flows")] == ["cg-flows"]
    assert [v.name for v in az.keyvault.vaults.list_by_resource_group("rg-flows")] == ["kv-flows-test"]
    vault = az.keyvault.vaults.get("rg-flows", "kv-flows-test")
    identity = az.msi.user_assigned_identities.get("rg-flows", "id-flows")
    operator = sandbox.operator()["objectId"]
    # One grant for the identity; none for the operator (the secret was written through ARM: no standing grant).
    for principal, expected in ((identity.principal_id, 1), (operator, 0)):
        mine = [ra for ra in az.authorization.role_assignments.list_for_scope(
            vault.id, filter=f"principalId eq '{principal}'") if ra.scope.lower().startswith(vault.id.lower())]
        assert len(mine) == expected, [(ra.scope, ra.role_definition_id) for ra in mine]
    # One secret version: a resumed write re-used the recorded one. (The test, not the tool, gives itself data
    # access to count them.)
    az.authorization.role_assignments.create(vault.id, "0e7f3c1a-5d2b-4c8e-9f6a-1b2c3d4e5f60", {"properties": {
        "roleDefinitionId": f"/subscriptions/{sandbox.subscription_ids[0]}/providers/Microsoft.Authorization/"
                            "roleDefinitions/21090545-7ca7-4776-b22c-e363652d74d2",
        "principalId": operator, "principalType": "ServicePrincipal"}})
    versions = list(az.secrets(vault.properties.vault_uri).list_properties_of_secret_versions("git-token"))
    assert len(versions) == 1
    assert_secret_nowhere(harness.state_dir)
