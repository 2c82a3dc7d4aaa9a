"""Signing in headless, as a user runs it (separate processes): each failure names its real cause and the one
command that fixes it, in a few lines and never as the SDK's list of every credential it tried. The failures are
real: an authority whose name does not resolve, a sandbox whose server was stopped, a tenant the sandbox's Entra ID
does not know, a setup made on the sandbox used without --sandbox. Nothing is mocked.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from wizard.sandbox import Sandbox

ROOT = Path(__file__).resolve().parents[2]
SPEC = "examples/prefect-aci.toml"
SECRET = "signin-s3cret-value-never-shown"

pytestmark = pytest.mark.timeout(300)


@pytest.fixture
def run(tmp_path):
    """`mi-wizard ARGS` in a clean environment: no az on PATH, no ~/.azure, no AZURE_* variables."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("AZURE_", "MSI_", "IDENTITY_", "IMDS_"))}
    (tmp_path / "bin").mkdir()
    base.update(PATH=str(tmp_path / "bin") + os.pathsep + "/usr/bin:/bin", HOME=str(tmp_path / "home"),
                MI_WIZARD_SANDBOX_DIR=str(tmp_path / "embedded"), MI_WIZARD_STATE_DIR=str(tmp_path / "state"),
                GIT_TOKEN=SECRET)

    def invoke(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        result = subprocess.run([sys.executable, "-m", "wizard", *args], env={**base, **(env or {})}, cwd=ROOT,
                                capture_output=True, text=True, timeout=240, stdin=subprocess.DEVNULL)
        assert SECRET not in result.stdout + result.stderr
        assert "Traceback" not in result.stderr, result.stderr
        return result
    return invoke


def short_and_plain(stderr: str) -> None:
    """The cause in a few lines: no credential-by-credential list, no SDK log lines."""
    assert len(stderr.strip().splitlines()) <= 4, stderr
    for sdk_words in ("DefaultAzureCredential failed", "Attempted credentials", "get_token failed",
                      "aka.ms/azsdk"):
        assert sdk_words not in stderr, stderr


def write_descriptor(sandbox: Sandbox, path: Path, **changes: str) -> Path:
    descriptor = {**sandbox.descriptor(), **changes}
    path.write_text(json.dumps(descriptor))
    return path


def test_no_network_a_device_code_sign_in_says_dns_not_az_login(run, sandbox, tmp_path):
    # The authority's name cannot resolve (.invalid is reserved for that: RFC 2606), as with no network or DNS.
    offline = write_descriptor(sandbox, tmp_path / "offline.json", authority_url="https://login.invalid")
    result = run("plan", SPEC, "--sandbox-descriptor", str(offline), "--auth", "device", "--secret-from",
                 "env:GIT_TOKEN")
    assert result.returncode == 7, result.stderr
    assert "the name login.invalid cannot be resolved (DNS)" in result.stderr
    assert "fix: check the connection (e.g. `nslookup login.invalid`" in result.stderr
    assert "az login" not in result.stderr
    short_and_plain(result.stderr)

    as_json = run("plan", SPEC, "--sandbox-descriptor", str(offline), "--auth", "device", "--json")
    assert as_json.returncode == 7
    assert json.loads(as_json.stdout)["error"]["code"] == "NoNetwork"


def test_nothing_to_sign_in_with_is_said_in_two_lines(run):
    result = run("verify", "nothing-here-yet", "--cloud", "usgov")  # no state: refused before signing in
    assert result.returncode == 2 and "no setup state" in result.stderr.lower() + result.stdout.lower()
    result = run("doctor", "--identity", "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg/"
                 "providers/Microsoft.ManagedIdentity/userAssignedIdentities/id", "--cloud", "usgov")
    assert result.returncode == 7, result.stderr
    assert "no Azure sign-in was found on this machine" in result.stderr
    # A US Government setup signs in there: az must be switched to that cloud first.
    assert "fix: `az cloud set --name AzureUSGovernment && az login`" in result.stderr
    short_and_plain(result.stderr)


def test_a_stopped_sandbox_is_named_with_the_command_that_starts_it_again(run, tmp_path):
    stopped = Sandbox(tmp_path / "served", seed="demo").start()
    descriptor = write_descriptor(stopped, tmp_path / "served.json")
    port = stopped.arm_url.rsplit(":", 1)[1]
    stopped.stop()

    result = run("plan", SPEC, "--sandbox-descriptor", str(descriptor), "--secret-from", "env:GIT_TOKEN")
    assert result.returncode == 7, result.stderr
    assert f"the sandbox of {descriptor} is not running (nothing answers at 127.0.0.1:{port})" in result.stderr
    fix = result.stderr.split("`mi-wizard ", 1)[1].split("`", 1)[0]
    assert fix == f"sandbox serve --data-dir {tmp_path / 'served'} --port {port} --descriptor {descriptor}"
    short_and_plain(result.stderr)

    # The fix, as given, brings it back: the same command then plans.
    server = subprocess.Popen([sys.executable, "-m", "wizard", *fix.split()], cwd=ROOT, stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL, text=True)
    try:
        assert server.stdout is not None and server.stdout.readline().strip(), "the sandbox did not start"
        again = run("plan", SPEC, "--sandbox-descriptor", str(descriptor), "--secret-from", "env:GIT_TOKEN")
        assert again.returncode == 0, again.stderr
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_a_wrong_tenant_is_named_with_what_entra_said(run, sandbox, tmp_path):
    descriptor = write_descriptor(sandbox, tmp_path / "sandbox.json")
    other = str(uuid.uuid4())
    result = run("plan", SPEC, "--sandbox-descriptor", str(descriptor), "--tenant", other,
                 "--secret-from", "env:GIT_TOKEN")
    assert result.returncode == 7, result.stderr
    assert f"tenant {other} does not know this account" in result.stderr
    assert f"AADSTS90002: Tenant '{other}' not found." in result.stderr
    assert "fix: drop --tenant" in result.stderr
    short_and_plain(result.stderr)

    # The environment's service principal in the wrong tenant: the fix is the variable, not an option.
    op = sandbox.descriptor()
    env = {"AZURE_CLIENT_ID": op["client_id"], "AZURE_CLIENT_SECRET": op["client_secret"], "AZURE_TENANT_ID": other}
    as_env = run("plan", SPEC, "--sandbox-descriptor", str(descriptor), "--auth", "env", "--secret-from",
                 "env:GIT_TOKEN", env=env)
    assert as_env.returncode == 7, as_env.stderr
    assert "fix: set AZURE_TENANT_ID to the tenant the service principal belongs to" in as_env.stderr

    right = run("plan", SPEC, "--sandbox-descriptor", str(descriptor), "--auth", "env", "--secret-from",
                "env:GIT_TOKEN", env={**env, "AZURE_TENANT_ID": op["tenant_id"]})
    assert right.returncode == 0, right.stderr
    assert (f"Signed in to the sandbox with the environment's service principal (AZURE_CLIENT_ID...) (--auth env) "
            f"as {op['client_id']} (ServicePrincipal), tenant {op['tenant_id']}.") in right.stderr


def test_a_sandbox_setup_without_sandbox_is_refused_before_signing_in(run, tmp_path):
    applied = run("apply", SPEC, "--sandbox", "--yes", "--no-verify", "--secret-from", "env:GIT_TOKEN")
    assert applied.returncode == 0, applied.stderr
    state = tmp_path / "state" / "prefect-aci.json"
    before = state.read_bytes()

    for args in (("verify", "prefect-aci"), ("destroy", "prefect-aci", "--yes"),
                 ("plan", SPEC, "--secret-from", "env:GIT_TOKEN"),
                 ("apply", SPEC, "--yes", "--secret-from", "env:GIT_TOKEN")):
        result = run(*args)
        assert result.returncode == 2, (args, result.stderr, result.stdout)
        said = result.stdout + result.stderr
        assert "This setup was made on the sandbox (" in said and "Add --sandbox to the same command." in said, said
        assert "az login" not in said
    assert state.read_bytes() == before  # nothing was written

    # A spec that names a sandbox subscription by id is the sandbox's too, with no state yet.
    spec = tmp_path / "by-id.toml"
    sub_id = json.loads(run("status", "prefect-aci", "--offline", "--json").stdout)["steps"]["identity"][
        "outputs"]["id"].split("/")[2]
    spec.write_text((ROOT / SPEC).read_text().replace('name = "prefect-aci"', 'name = "by-id"')
                    .replace('subscription = "Contoso Dev"', f'subscription = "{sub_id}"'))
    by_id = run("plan", str(spec), "--secret-from", "env:GIT_TOKEN")
    assert by_id.returncode == 2 and f"its subscription {sub_id} is the sandbox's Contoso Dev" in by_id.stdout


def test_a_sandbox_subscription_name_with_no_sign_in_hints_at_sandbox(run):
    result = run("plan", SPEC, "--secret-from", "env:GIT_TOKEN")
    assert result.returncode == 7, result.stderr
    assert "The spec's subscription 'Contoso Dev' is one of the sandbox's demo subscriptions" in result.stderr
    assert "add --sandbox" in result.stderr


def test_the_subscription_comes_from_the_option_the_spec_or_the_environment(run, tmp_path, sandbox):
    descriptor = write_descriptor(sandbox, tmp_path / "sandbox.json")
    spec = tmp_path / "nosub.toml"
    spec.write_text((ROOT / SPEC).read_text().replace('subscription = "Contoso Dev"\n', ""))
    prod, dev = sandbox.subscription_ids[1], sandbox.subscription_ids[0]

    def planned_in() -> set[str]:
        """The subscriptions whose resource groups the plan read (the in-process sandbox records every call)."""
        found = {c.path.split("/")[2] for c in sandbox.calls if "/resourcegroups/" in c.path.lower()}
        sandbox.calls.clear()
        return found

    sandbox.calls.clear()
    from_env = run("plan", str(spec), "--sandbox-descriptor", str(descriptor), "--json", "--secret-from",
                   "env:GIT_TOKEN", env={"AZURE_SUBSCRIPTION_ID": prod})
    assert from_env.returncode == 0, from_env.stderr
    assert f"Subscription: {prod} (from AZURE_SUBSCRIPTION_ID; the spec names none)." in from_env.stderr
    assert planned_in() == {prod}

    from_option = run("plan", SPEC, "--sandbox-descriptor", str(descriptor), "--subscription", "Contoso Prod",
                      "--json", "--secret-from", "env:GIT_TOKEN", env={"AZURE_SUBSCRIPTION_ID": "ignored"})
    assert from_option.returncode == 0, from_option.stderr
    assert "Subscription: Contoso Prod (from --subscription; the spec says 'Contoso Dev')." in from_option.stderr
    assert planned_in() == {prod}

    env_ignored = run("plan", SPEC, "--sandbox-descriptor", str(descriptor), "--secret-from", "env:GIT_TOKEN",
                      env={"AZURE_SUBSCRIPTION_ID": prod})
    assert env_ignored.returncode == 0
    assert f"(from the spec; AZURE_SUBSCRIPTION_ID={prod} is not used" in env_ignored.stderr
    assert planned_in() == {dev}


def test_the_specs_cloud_is_honoured_and_a_contradicting_cloud_refused(run, tmp_path):
    usgov = tmp_path / "usgov.toml"
    usgov.write_text((ROOT / SPEC).read_text().replace('cloud = "public"', 'cloud = "usgov"'))
    result = run("plan", str(usgov), "--cloud", "public", "--secret-from", "env:GIT_TOKEN")
    assert result.returncode == 2  # bad input: said on stdout, as every refusal of input is
    assert (f"--cloud public contradicts the setup's cloud \"usgov\" (spec {usgov})" in result.stdout
            and "Drop --cloud" in result.stdout)
    # Without --cloud, the spec's cloud is the one signed in to: its authority, its az cloud.
    offline = run("plan", str(usgov), "--secret-from", "env:GIT_TOKEN")
    assert offline.returncode == 7
    assert "`az cloud set --name AzureUSGovernment && az login`" in offline.stderr

    germany = tmp_path / "germany.toml"
    germany.write_text((ROOT / SPEC).read_text().replace('cloud = "public"', 'cloud = "germany"'))
    refused = run("plan", str(germany), "--secret-from", "env:GIT_TOKEN")
    assert refused.returncode == 2
    assert "'germany' is not a cloud mi-wizard knows: use one of public, china, usgov." in refused.stdout
    assert not (tmp_path / "state").exists() or not any((tmp_path / "state").iterdir())


def test_auth_msi_signs_in_as_this_machines_managed_identity(run, sandbox, az, sub_id, tmp_path):
    from wizard.sandbox.providers.imds import register_caller
    az.resources.resource_groups.create_or_update("rg-runner", {"location": "westeurope"})
    identity = az.msi.user_assigned_identities.create_or_update("rg-runner", "id-runner", {"location": "westeurope"})
    reader = f"/subscriptions/{sub_id}/providers/Microsoft.Authorization/roleDefinitions/acdd72a7-3385-48ef-bd42-f606fba81ae7"
    az.authorization.role_assignments.create(  # Reader: doctor reads the identity as itself
        f"/subscriptions/{sub_id}/resourceGroups/rg-runner", str(uuid.uuid4()),
        {"role_definition_id": reader, "principal_id": identity.principal_id, "principal_type": "ServicePrincipal"})
    # This process is a workload with the identity attached: the sandbox's IMDS serves it (as a VM's would).
    imds = register_caller(sandbox, "test machine", [identity.id])
    descriptor = write_descriptor(sandbox, tmp_path / "sandbox.json")
    env = {"AZURE_POD_IDENTITY_AUTHORITY_HOST": imds, "AZURE_CLIENT_ID": identity.client_id}
    result = run("doctor", "--identity", identity.id, "--no-probe", "--sandbox-descriptor", str(descriptor),
                 "--auth", "msi", env=env)
    assert (f"Signed in to the sandbox with this machine's managed identity (--auth msi) as {identity.client_id} "
            f"(ServicePrincipal), tenant {sandbox.tenant_id}.") in result.stderr, result.stderr

    nothing = run("doctor", "--identity", identity.id, "--no-probe", "--sandbox-descriptor", str(descriptor),
                  "--auth", "msi", env={**env, "AZURE_POD_IDENTITY_AUTHORITY_HOST": imds + "-unknown"})
    assert nothing.returncode == 7, nothing.stderr
    assert "no managed identity answers here" in nothing.stderr and "--auth cli" in nothing.stderr
    short_and_plain(nothing.stderr)


def test_a_headless_device_code_is_shown_on_stderr_and_signs_in_once_entered(sandbox, tmp_path):
    import requests
    descriptor = write_descriptor(sandbox, tmp_path / "sandbox.json")
    env = {k: v for k, v in os.environ.items() if not k.startswith("AZURE_")}
    env.update(MI_WIZARD_STATE_DIR=str(tmp_path / "state"), GIT_TOKEN=SECRET, HOME=str(tmp_path))
    cli = subprocess.Popen([sys.executable, "-m", "wizard", "plan", SPEC, "--sandbox-descriptor", str(descriptor),
                            "--auth", "device", "--json", "--secret-from", "env:GIT_TOKEN"], env=env, cwd=ROOT,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)
    try:
        assert cli.stderr is not None
        # The first thing said: the code, on stderr as a JSON event (stdout keeps the JSON result).
        prompt = json.loads(cli.stderr.readline())
        assert prompt["event"] == "DeviceCode" and prompt["url"] == f"{sandbox.authority}/devicelogin", prompt
        code = prompt["code"]
        assert prompt["text"] == f"To sign in, open {prompt['url']} and enter the code {code} (Ctrl-C to stop)."
        op = sandbox.descriptor()
        # What the person does in a browser: the operator enters the code.
        approved = requests.post(f"{sandbox.authority}/devicelogin", data={
            "code": code, "client_id": op["client_id"], "client_secret": op["client_secret"]}, verify=op["ca_bundle"],
            timeout=30)
        assert approved.status_code == 200, approved.text
        out, err = cli.communicate(timeout=120)
    finally:
        if cli.poll() is None:
            cli.kill()
    assert cli.returncode == 0, err
    assert json.loads(out)["problems"] == []
    signed_in = [json.loads(line) for line in err.splitlines() if '"SignIn"' in line]
    assert [e["text"] for e in signed_in] == [
        f"Signed in to the sandbox with a device code (--auth device) as mi-wizard@sandbox.local (User), tenant "
        f"{sandbox.tenant_id}."]
    assert SECRET not in out + err
