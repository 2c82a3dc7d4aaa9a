"""The real Azure CLI (azure-cli, installed into its own cached virtualenv) against a sandbox, as a person would use
it: register the sandbox as a cloud from its Resource Manager URL alone (endpoint discovery), sign in as the
operator service principal, then create a group, an identity and a vault, find the vault by name alone, grant the
identity a role on it, and run a container group with the identity. Every command must exit 0, and what az created
is read back through the sandbox with the SDK.

az needs two things any private cloud (Azure Stack) needs: the sandbox's CA (REQUESTS_CA_BUNDLE, which both
requests and MSAL read) and MSAL's instance discovery off (core.instance_discovery=false: discovery asks
login.microsoftonline.com whether the authority is known, and the sandbox's authority is not). Nothing is skipped:
if the CLI cannot be installed, the test fails with pip's reason.
"""

from __future__ import annotations

import time

import pytest

from tests.az_cli import AZ_VERSION, AzCli, AzInstallError, AzResult, ensure_az

CLOUD = "mi-wizard-sandbox"
RG, LOC = "rg-az-cli", "westeurope"
IDENTITY, VAULT, GROUP = "id-az-cli", "kv-az-cli-e2e", "aci-az-cli"
SECRETS_USER = "4633458b-17de-408a-b874-0445c86b69e6"  # Key Vault Secrets User
IMAGE = "mcr.microsoft.com/azuredocs/aci-helloworld"

pytestmark = pytest.mark.timeout(900)  # the first run of a machine installs azure-cli (about 90 s here) first


@pytest.fixture(scope="session")
def az_python():
    """The cached virtualenv's python and the seconds this session spent installing it (0 when it was there)."""
    try:
        return ensure_az(AZ_VERSION, timeout=600)
    except AzInstallError as err:
        pytest.fail(f"azure-cli {AZ_VERSION} could not be installed into its own virtualenv: {err}", pytrace=False)


@pytest.fixture
def az_cli(az_python, sandbox, tmp_path, record_property) -> AzCli:
    python, install_s = az_python
    record_property("az_install_seconds", round(install_s, 1))
    return AzCli(python, tmp_path / "azure-config", sandbox.descriptor()["az_env"])


def ok(result: AzResult):
    assert result.returncode == 0, result.describe()
    return result.json()


def test_az_cli_runs_the_tutorial_against_the_sandbox(az_cli, sandbox, az, sub_id, record_property):
    started = time.monotonic()
    desc = sandbox.descriptor()
    arm = sandbox.arm_url

    # The cloud from its Resource Manager URL alone: az fetches {arm}/metadata/endpoints and maps what it finds.
    ok(az_cli("cloud", "register", "--name", CLOUD, "--endpoint-resource-manager", arm + "/"))
    cloud = ok(az_cli("cloud", "show", "--name", CLOUD, "-o", "json"))
    assert cloud["endpoints"]["resourceManager"] == arm + "/"
    assert cloud["endpoints"]["activeDirectory"] == sandbox.authority  # discovered, not given
    assert cloud["endpoints"]["activeDirectoryResourceId"] == "https://management.core.windows.net/"
    assert any(c.method == "GET" and c.path.endswith("/metadata/endpoints") and c.status == 200
               for c in sandbox.calls), "az registered the cloud without asking the sandbox's metadata endpoint"
    ok(az_cli("cloud", "set", "--name", CLOUD))

    # --password=VALUE: a client secret may start with "-", which argparse would read as an option.
    accounts = ok(az_cli("login", "--service-principal", "--username", desc["client_id"],
                         f"--password={desc['client_secret']}", "--tenant", desc["tenant_id"], "-o", "json"))
    assert {a["id"] for a in accounts} == set(sandbox.subscription_ids)
    assert all(a["user"] == {"name": desc["client_id"], "type": "servicePrincipal"} and a["cloudName"] == CLOUD
               and a["tenantId"] == desc["tenant_id"] for a in accounts)
    ok(az_cli("account", "set", "--subscription", sub_id))

    group = ok(az_cli("group", "create", "--name", RG, "--location", LOC, "-o", "json"))
    assert group["id"] == f"/subscriptions/{sub_id}/resourceGroups/{RG}"
    assert group["properties"]["provisioningState"] == "Succeeded"

    identity = ok(az_cli("identity", "create", "--resource-group", RG, "--name", IDENTITY, "-o", "json"))
    assert identity["tenantId"] == desc["tenant_id"] and identity["principalId"] and identity["clientId"]

    created = ok(az_cli("keyvault", "create", "--resource-group", RG, "--name", VAULT, "--location", LOC,
                        "-o", "json"))
    assert created["properties"]["enableRbacAuthorization"] is True  # az's default since 2.x: RBAC, no policies
    # By name alone: az finds the group through ARM's $filter on the subscription's resource list.
    shown = ok(az_cli("keyvault", "show", "--name", VAULT, "-o", "json"))
    assert shown["id"] == created["id"] and shown["resourceGroup"] == RG
    assert shown["properties"]["vaultUri"] == created["properties"]["vaultUri"]

    assignment = ok(az_cli("role", "assignment", "create", "--assignee-object-id", identity["principalId"],
                           "--assignee-principal-type", "ServicePrincipal", "--role", "Key Vault Secrets User",
                           "--scope", shown["id"], "-o", "json"))
    assert assignment["principalType"] == "ServicePrincipal"
    assert assignment["principalId"] == identity["principalId"]
    assert assignment["roleDefinitionId"].lower().endswith(f"/roledefinitions/{SECRETS_USER}")

    aci = ok(az_cli("container", "create", "--resource-group", RG, "--name", GROUP, "--image", IMAGE,
                    "--assign-identity", identity["id"], "--os-type", "Linux", "--cpu", "1", "--memory", "1.5",
                    "--restart-policy", "Never", "-o", "json"))
    assert aci["provisioningState"] == "Succeeded"
    assert aci["identity"]["type"] == "UserAssigned"
    assert {k.lower(): v["principalId"] for k, v in aci["identity"]["userAssignedIdentities"].items()} == {
        identity["id"].lower(): identity["principalId"]}

    # What az created, read back through the sandbox with the SDK.
    assert az.resources.resource_groups.get(RG).location == LOC
    msi = az.msi.user_assigned_identities.get(RG, IDENTITY)
    assert (msi.principal_id, msi.client_id) == (identity["principalId"], identity["clientId"])
    vault = az.keyvault.vaults.get(RG, VAULT)
    assert vault.id == created["id"] and vault.properties.enable_rbac_authorization is True
    granted = [ra for ra in az.authorization.role_assignments.list_for_scope(vault.id)
               if ra.principal_id == identity["principalId"]]
    assert [(ra.name, ra.principal_type, ra.role_definition_id.rsplit("/", 1)[-1], ra.scope.lower())
            for ra in granted] == [(assignment["name"], "ServicePrincipal", SECRETS_USER, vault.id.lower())]
    cg = az.aci.container_groups.get(RG, GROUP)
    assert cg.provisioning_state == "Succeeded" and cg.identity.type == "UserAssigned"
    assert {k.lower(): v.principal_id for k, v in cg.identity.user_assigned_identities.items()} == {
        msi.id.lower(): msi.principal_id}
    assert [(c.image, c.resources.requests.cpu, c.resources.requests.memory_in_gb) for c in cg.containers] == [
        (IMAGE, 1.0, 1.5)]

    record_property("az_commands_seconds", round(time.monotonic() - started, 1))
