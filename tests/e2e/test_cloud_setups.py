"""A setup's cloud drives what is written and printed: an AKS workload-identity setup whose spec says
cloud = "usgov", applied on the sandbox (which stands in for any cloud), gets its federated credential with US
Government's token-exchange audience (read back from the sandbox) and a storage snippet with that cloud's suffix.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SECRET = "cloud-s3cret-value-never-shown"

pytestmark = pytest.mark.timeout(300)


def test_a_usgov_spec_writes_usgovs_audience_and_prints_its_suffixes(tmp_path):
    spec = tmp_path / "aks-usgov.toml"
    text = (ROOT / "examples" / "aks-workload-identity.toml").read_text()
    spec.write_text(text.replace('name = "aks-workload-identity"\n', 'name = "aks-usgov"\ncloud = "usgov"\n'))
    env = {**os.environ, "MI_WIZARD_SANDBOX_DIR": str(tmp_path / "sandbox"),
           "MI_WIZARD_STATE_DIR": str(tmp_path / "state"), "APP_SECRET": SECRET}
    done = subprocess.run([sys.executable, "-m", "wizard", "apply", str(spec), "--sandbox", "--yes", "--json",
                           "--secret-from", "env:APP_SECRET"], env=env, cwd=ROOT, capture_output=True, text=True,
                          timeout=240, stdin=subprocess.DEVNULL)
    assert done.returncode == 0, done.stderr + done.stdout
    result = json.loads(done.stdout)
    assert result["verify"]["passed"] is True
    state = json.loads((tmp_path / "state" / "aks-usgov.json").read_text())
    credentials = state["steps"]["aks"]["outputs"]["credentials"]
    assert [c["audience"] for c in credentials] == ["api://AzureADTokenExchangeUSGov"]

    # What Azure (the sandbox) holds, read with the SDK.
    from wizard.azure.clients import AzureClients, make_credential
    from wizard.azure.profiles import sandbox_profile
    from wizard.sandbox import running_sandbox
    with running_sandbox(tmp_path / "sandbox", seed="demo") as sb:
        profile = sandbox_profile(sb.descriptor())
        clients = AzureClients(profile, make_credential(profile), sb.subscription_ids[0])
        fics = list(clients.msi.federated_identity_credentials.list("rg-aks-apps", "id-aks-workload"))
    assert [list(f.audiences) for f in fics] == [["api://AzureADTokenExchangeUSGov"]]
    assert "BlobServiceClient('https://stcontosodata.blob.core.usgovcloudapi.net', credential)" in \
        result["next_steps"]
    assert SECRET not in done.stdout + done.stderr
