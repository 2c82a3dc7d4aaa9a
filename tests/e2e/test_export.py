"""`mi-wizard export --format az` run with the real Azure CLI against a fresh sandbox.

The script for examples/prefect-aci.toml runs under bash with az (its own cached virtualenv) signed in to the
sandbox and the secret only in an environment variable. It must exit 0; `mi-wizard doctor` on what it made must
pass (its live probe reads the secret with the identity); every process's command line is polled while it runs
and never holds the value; the value arrives exactly as given (quotes, backslashes and spaces included). The
sandbox refuses the brand-new identity (PrincipalNotFound, held open even with principalType set) until the
script has visibly waited for it. A second run changes nothing.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from tests.az_cli import AZ_VERSION, AzCli, AzInstallError, ensure_az
from wizard.export_cmd import render

ROOT = Path(__file__).resolve().parents[2]
CLOUD = "mi-wizard-sandbox"
SECRET = 'exp0rt "s3cret" \\ value with spaces'

pytestmark = pytest.mark.timeout(900)


class ArgvWatch:
    """Reads every process's command line (/proc/*/cmdline) over and over while the script runs."""

    def __init__(self, needle: str) -> None:
        self.needle, self.hits, self.scans, self.seen_az = needle.encode(), [], 0, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.scans += 1
            for entry in Path("/proc").iterdir():
                if not entry.name.isdigit():
                    continue
                try:
                    cmdline = (entry / "cmdline").read_bytes()
                except OSError:
                    continue
                if self.needle in cmdline:
                    self.hits.append((entry.name, cmdline))
                if b"azure.cli" in cmdline:
                    self.seen_az += 1

    def __enter__(self) -> ArgvWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


@pytest.fixture(scope="module")
def az_python() -> Path:
    try:
        return ensure_az(AZ_VERSION, timeout=600)[0]
    except AzInstallError as err:
        pytest.fail(f"azure-cli {AZ_VERSION} could not be installed into its own virtualenv: {err}", pytrace=False)


def _signed_in(az_python: Path, sandbox, tmp_path: Path) -> AzCli:
    desc = sandbox.descriptor()
    cli = AzCli(az_python, tmp_path / "azure-config", desc["az_env"])
    for args in (("cloud", "register", "--name", CLOUD, "--endpoint-resource-manager", sandbox.arm_url + "/"),
                 ("cloud", "set", "--name", CLOUD),
                 ("login", "--service-principal", "--username", desc["client_id"],
                  f"--password={desc['client_secret']}", "--tenant", desc["tenant_id"], "-o", "none")):
        result = cli(*args)
        assert result.returncode == 0, result.describe()
    return cli


def _run_script(cli: AzCli, script: Path, bin_dir: Path, extra_env: dict[str, str]) -> subprocess.CompletedProcess:
    env = {**cli.env, "PATH": f"{bin_dir}{os.pathsep}{cli.env.get('PATH', '')}", **extra_env}
    return subprocess.run(["bash", str(script)], env=env, capture_output=True, text=True, timeout=600,
                          stdin=subprocess.DEVNULL)


def test_az_export_rebuilds_prefect_aci_on_a_fresh_sandbox_and_doctor_passes(az_python, sandbox, tmp_path):
    cli = _signed_in(az_python, sandbox, tmp_path)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "az").write_text(f'#!/bin/sh\nexec "{az_python}" -m azure.cli "$@"\n')
    (bin_dir / "az").chmod(0o755)
    script = tmp_path / "setup.sh"
    script.write_text(render(str(ROOT / "examples" / "prefect-aci.toml"), "az")["setup.sh"])
    assert SECRET not in script.read_text()

    # A brand-new identity unknown to role assignments even with principalType set, until the hold is released:
    # the script must wait it out, saying so.
    sandbox.realism.principal_type_skips_window = False
    replicating = sandbox.realism.hold("principal_not_found")
    released = threading.Thread(target=lambda: (replicating.wait_reached(timeout=300, times=2),
                                                replicating.release()), daemon=True)
    released.start()
    with ArgvWatch(SECRET) as watch:
        first = _run_script(cli, script, bin_dir, {"MI_WIZARD_SECRET": SECRET, "MI_WIZARD_WAIT_STEP_S": "1"})
    released.join(timeout=5)
    report = f"exit {first.returncode}\n--- stdout\n{first.stdout}\n--- stderr\n{first.stderr[-6000:]}"
    assert first.returncode == 0, report
    assert watch.hits == [] and watch.scans > 10 and watch.seen_az > 0, (watch.hits, watch.scans, watch.seen_az)
    assert replicating.times >= 2, report
    assert "waiting for the new identity to replicate in the directory (PrincipalNotFound)" in first.stderr, report
    assert SECRET not in first.stdout + first.stderr

    # What it made, read back through the sandbox.
    from wizard.sandbox.providers.keyvault_data import _key
    from wizard.sandbox.providers.keyvault_mgmt import SECRET as SECRET_KIND
    record = sandbox.store.get(SECRET_KIND, _key("kv-prefect-flows", "git-token"))
    assert [v["value"] for v in record["versions"]] == [SECRET]
    ids = json.loads(cli("account", "show", "-o", "json").stdout)
    sub = ids["id"]
    identity_id = (f"/subscriptions/{sub}/resourceGroups/rg-prefect-flows/providers/Microsoft.ManagedIdentity/"
                   "userAssignedIdentities/id-prefect-flows")
    group_id = (f"/subscriptions/{sub}/resourceGroups/rg-prefect-flows/providers/Microsoft.ContainerInstance/"
                "containerGroups/cg-prefect-flow")

    descriptor = tmp_path / "sandbox.json"
    sandbox.write_descriptor(descriptor)
    doctor = subprocess.run([sys.executable, "-m", "wizard", "doctor", "--identity", identity_id, "--vault",
                             "kv-prefect-flows", "--secret", "git-token", "--container-group", group_id,
                             "--sandbox-descriptor", str(descriptor), "--json"],
                            cwd=ROOT, capture_output=True, text=True, timeout=300,
                            env={**os.environ, "MI_WIZARD_STATE_DIR": str(tmp_path / "state")})
    assert doctor.returncode == 0, doctor.stdout + doctor.stderr
    verdict = json.loads(doctor.stdout)
    assert verdict["passed"] is True
    assert [link["link"] for link in verdict["links"]] == ["identity", "attached", "grant", "secret", "probe"]

    # Again: everything is found, nothing is written, and no value is needed.
    def writes() -> list[tuple[str, str]]:
        return [(c.method, c.path) for c in list(sandbox.calls) if c.method in ("PUT", "PATCH", "DELETE")]

    before = writes()
    again = _run_script(cli, script, bin_dir, {})
    assert again.returncode == 0, again.stderr
    assert "creating" not in again.stderr and "writing secret" not in again.stderr
    assert "secret git-token exists; it is kept as it is" in again.stderr
    assert writes() == before


def test_no_export_of_an_applied_setup_holds_the_secret_value(tmp_path):
    """Export from the state of a setup applied on the sandbox with a known value: the value is in no file of any
    format (it is a parameter, a variable or an environment variable), and what the state knows is used."""
    env = {**os.environ, "MI_WIZARD_SANDBOX_DIR": str(tmp_path / "sandbox"),
           "MI_WIZARD_STATE_DIR": str(tmp_path / "state"), "GIT_TOKEN": SECRET}
    applied = subprocess.run([sys.executable, "-m", "wizard", "apply", "examples/prefect-aci.toml", "--sandbox",
                              "--yes", "--secret-from", "env:GIT_TOKEN", "--no-verify"],
                             cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert applied.returncode == 0, applied.stderr
    state = json.loads((tmp_path / "state" / "prefect-aci.json").read_text())
    subscription = state["steps"]["identity"]["outputs"]["id"].split("/")[2]
    for fmt in ("az", "bicep", "terraform"):
        out = tmp_path / "export" / fmt
        done = subprocess.run([sys.executable, "-m", "wizard", "export", "prefect-aci", "--format", fmt, "--out",
                               str(out)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        files = {p.name: p.read_text() for p in out.iterdir()}
        assert files and all(SECRET not in text for text in files.values()), fmt
        assert all('from the state of setup prefect-aci' in text for text in files.values())
        if fmt == "terraform":
            assert f'default = "{subscription}"' in files["variables.tf"]
            assert "value_wo = var.secret_value\n" in files["main.tf"]
        if fmt == "bicep":
            assert "@secure()" in files["main.bicep"] and "value: secretValue" in files["main.bicep"]
        if fmt == "az":
            assert "value=$MI_WIZARD_SECRET\n" in files["setup.sh"]
