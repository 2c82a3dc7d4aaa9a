"""What the headless CLI claims after an AKS verification: no live probe runs in the cluster, so it names the links
it checked and says that a pod reading the secret was not proven (never "the workload can read the secret")."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SECRET = "aks-s3cret-value-never-printed"


def test_aks_apply_and_verify_say_what_was_proven_and_what_was_not(tmp_path):
    env = {**os.environ, "MI_WIZARD_SANDBOX_DIR": str(tmp_path / "sandbox"),
           "MI_WIZARD_STATE_DIR": str(tmp_path / "state"), "APP_SECRET": SECRET}

    def run(*args: str) -> subprocess.CompletedProcess:
        result = subprocess.run([sys.executable, "-m", "wizard", *args], env=env, cwd=ROOT, capture_output=True,
                                text=True, timeout=180)
        assert SECRET not in result.stdout + result.stderr
        return result

    applied = run("apply", "examples/aks-workload-identity.toml", "--sandbox", "--yes", "--secret-from",
                  "env:APP_SECRET")
    assert applied.returncode == 0, applied.stderr
    verified = run("verify", "aks-workload-identity", "--sandbox")
    assert verified.returncode == 0, verified.stderr
    for said in (applied.stdout, verified.stdout):
        flat = " ".join(said.split())
        assert "Verification passed: every link is in place." in flat
        assert ("Checked: the federated credential's issuer, subject and audience match; the cluster has an OIDC "
                "issuer and workload identity enabled; the identity holds read access to the secret; the secret "
                "exists and is enabled") in flat
        assert "Not proven: a pod actually reading the secret (mi-wizard runs nothing in the cluster)." in flat
        assert "can read the secret" not in flat
    report = json.loads(run("verify", "aks-workload-identity", "--sandbox", "--json").stdout)
    assert report["passed"] is True and "probe" not in [link["link"] for link in report["links"]]
