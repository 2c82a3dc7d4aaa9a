"""Drift: `status SETUP` reads Azure (unless --offline) and shows, per step, what no longer holds after an
out-of-band change of each kind. Through the real CLI entry point, against one running sandbox."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from wizard.cli import main
from wizard.sandbox.seed import assign

ROOT = Path(__file__).resolve().parents[2]
SECRET = "drift-s3cret-never-shown"
SECRETS_OFFICER = "b86a8fe4-44ce-4948-aee5-eccb2c155cd7"
RG, VAULT, SECRET_NAME, GROUP = "rg-prefect-flows", "kv-prefect-flows", "git-token", "cg-prefect-flow"


@pytest.fixture
def cli(sandbox, tmp_path, monkeypatch, capsys):
    descriptor = tmp_path / "sandbox.json"
    sandbox.write_descriptor(descriptor)
    monkeypatch.setenv("MI_WIZARD_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("GIT_TOKEN", SECRET)

    def run(*args: str) -> tuple[int, str]:
        code = main([*args, "--sandbox-descriptor", str(descriptor)])
        out = capsys.readouterr()
        assert SECRET not in out.out + out.err and "Traceback" not in out.err
        return code, out.out
    return run


@pytest.fixture
def applied(cli) -> dict:
    code, _ = cli("apply", str(ROOT / "examples" / "prefect-aci.toml"), "--yes", "--secret-from", "env:GIT_TOKEN",
                  "--json")
    assert code == 0
    return json.loads(cli("status", "prefect-aci", "--offline", "--json")[1])["steps"]


def _identity_deleted(az, sandbox, steps):
    az.msi.user_assigned_identities.delete(RG, steps["identity"]["outputs"]["name"])


def _grant_removed(az, sandbox, steps):
    grant = steps["grant"]["outputs"]
    az.authorization.role_assignments.delete(grant["scope"], grant["assignment_name"])


def _identity_detached(az, sandbox, steps):
    group = az.aci.container_groups.get(RG, GROUP)
    group.identity = None
    az.aci.container_groups.begin_create_or_update(RG, GROUP, group).result()


def _secret_disabled(az, sandbox, steps):
    az.keyvault.secrets.create_or_update(RG, VAULT, SECRET_NAME, {"properties": {
        "value": SECRET, "attributes": {"enabled": False}}})


def _secret_deleted(az, sandbox, steps):
    vault = az.keyvault.vaults.get(RG, VAULT)
    assign(sandbox, vault.id, SECRETS_OFFICER, sandbox.operator()["objectId"], "officer:drift")
    az.secrets(vault.properties.vault_uri).begin_delete_secret(SECRET_NAME).result()


def _vault_soft_deleted(az, sandbox, steps):
    az.keyvault.vaults.delete(RG, VAULT)


CASES = {
    "identity deleted": (_identity_deleted, "identity"),
    "grant removed": (_grant_removed, "grant"),
    "identity detached": (_identity_detached, "aci"),
    "secret disabled": (_secret_disabled, "secret"),
    "secret deleted": (_secret_deleted, "secret"),
    "vault soft-deleted": (_vault_soft_deleted, "vault"),
}


@pytest.mark.parametrize("what", list(CASES))
def test_status_shows_each_kind_of_out_of_band_change_as_drift_of_its_step(cli, az, sandbox, applied, what):
    change, step = CASES[what]
    code, out = cli("status", "prefect-aci", "--json")
    assert code == 0 and json.loads(out)["drift"] == {"checked": True, "drifted": False, "items": [], "error": ""}
    change(az, sandbox, applied)
    code, out = cli("status", "prefect-aci", "--json")
    assert code == 0
    result = json.loads(out)
    assert result["steps"][step]["status"] == "done"  # the file still says done ...
    items = result["drift"]["items"]
    assert [(i["step"], i["what"]) for i in items] == [(step, what)]  # ... Azure says otherwise, and which change
    assert items[0]["fix"]
    code, text = cli("status", "prefect-aci")
    assert code == 0
    line = next(n for n, row in enumerate(text.splitlines()) if row.lstrip().startswith(f"DRIFT {what}:"))
    assert text.splitlines()[line - 1].split()[0] == step  # shown under its step
    assert f"Drift: {what}; resume the setup" in text


def test_offline_reads_only_the_file(cli, sandbox, applied):
    mark = len(sandbox.calls)
    code, out = cli("status", "prefect-aci", "--offline", "--json")
    assert code == 0 and "drift" not in json.loads(out)
    code, text = cli("status", "prefect-aci", "--offline")
    assert code == 0 and "Drift: not checked (--offline" in text
    assert sandbox.calls[mark:] == []


def test_no_drift_is_said_and_reading_is_only_reads(cli, sandbox, applied):
    mark = len(sandbox.calls)
    code, text = cli("status", "prefect-aci")
    assert code == 0 and "Drift: none; everything the state records still holds in Azure." in text
    assert [c for c in sandbox.calls[mark:] if c.method not in ("GET", "HEAD") and c.plane in ("arm", "vault")] == []
