"""--auth cli against the real Azure CLI (azure-cli 2.91 from its cached virtualenv, tests/az_cli.py), signed in to
a sandbox, on a machine where stray variables would make the DefaultAzureCredential chain act as someone else: an
environment service principal (AZURE_CLIENT_ID/AZURE_TENANT_ID/AZURE_CLIENT_SECRET, the sandbox's Contributor-only
operator) and a managed identity endpoint (IDENTITY_ENDPOINT, MSI_ENDPOINT). With --auth cli the wizard acts as
the person az is signed in as; with --auth default the stray principal wins, which is the case the option exists
for. az is slow to start, so the test makes few calls: register the cloud, select it, sign in, two plans.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from tests.az_cli import AZ_VERSION, AzCli, AzInstallError, ensure_az

ROOT = Path(__file__).resolve().parents[2]
SPEC = "examples/prefect-aci.toml"

pytestmark = pytest.mark.timeout(900)  # the first run of a machine installs azure-cli first


@pytest.fixture(scope="module")
def az_python() -> Path:
    try:
        return ensure_az(AZ_VERSION, timeout=600)[0]
    except AzInstallError as err:
        pytest.fail(f"azure-cli {AZ_VERSION} could not be installed into its own virtualenv: {err}", pytrace=False)


def test_auth_cli_acts_as_az_even_when_stray_variables_would_win(az_python, sandbox, tmp_path):
    desc = sandbox.descriptor()
    config = tmp_path / "azure-config"
    az = AzCli(az_python, config, desc["az_env"])
    register = shlex.split(desc["az_cloud_register"])[1:]  # every endpoint named: no discovery needed
    for args in (register, ["cloud", "set", "--name", "mi-wizard-sandbox"],
                 ["login", "--service-principal", "--username", desc["client_id"], f"--password={desc['client_secret']}",
                  "--tenant", desc["tenant_id"], "-o", "none"]):
        done = az(*args)
        assert done.returncode == 0, done.describe()

    bin_dir = tmp_path / "bin"  # `az` on PATH, as an installed CLI is: AzureCliCredential runs it by name
    bin_dir.mkdir()
    (bin_dir / "az").write_text(f"#!/bin/sh\nexec {shlex.quote(str(az_python))} -m azure.cli \"$@\"\n")
    (bin_dir / "az").chmod(0o755)
    stray = sandbox.operator("contributor")
    descriptor = tmp_path / "sandbox.json"
    sandbox.write_descriptor(descriptor)
    env = {k: v for k, v in os.environ.items() if not k.startswith("AZURE_")}
    env.update(az.env)  # az's config dir, the sandbox's CA, MSAL's instance discovery off
    env.update(PATH=f"{bin_dir}{os.pathsep}{env.get('PATH', '')}", MI_WIZARD_STATE_DIR=str(tmp_path / "state"),
               GIT_TOKEN="not-used-by-plan",
               AZURE_CLIENT_ID=stray["clientId"], AZURE_CLIENT_SECRET=stray["clientSecret"],
               AZURE_TENANT_ID=desc["tenant_id"], IDENTITY_ENDPOINT=desc["imds_url"], IDENTITY_HEADER="stray",
               MSI_ENDPOINT=desc["imds_url"])

    def plan(*extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "wizard", "plan", SPEC, "--sandbox-descriptor", str(descriptor),
                               "--secret-from", "env:GIT_TOKEN", *extra], env=env, cwd=ROOT, capture_output=True,
                              text=True, timeout=300, stdin=subprocess.DEVNULL)

    with_cli = plan("--auth", "cli")
    assert with_cli.returncode == 0, with_cli.stderr + with_cli.stdout
    assert (f"Signed in to the sandbox with the Azure CLI's login (az) (--auth cli) as {desc['client_id']} "
            f"(ServicePrincipal), tenant {desc['tenant_id']}.") in with_cli.stderr
    assert stray["clientId"] not in with_cli.stderr + with_cli.stdout
    assert "Note: az's active cloud" not in with_cli.stderr  # az is on the setup's cloud (the sandbox's)

    chain = plan("--auth", "default")  # what happened before --auth: the environment's principal won
    assert f"as {stray['clientId']} (ServicePrincipal)" in chain.stderr, chain.stderr
    assert chain.returncode == 3 and "may not assign roles" in chain.stdout  # only Contributor: no grants
