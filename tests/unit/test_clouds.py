"""Per-cloud values, checked against their sources: azure-identity's AzureAuthorityHosts, the Azure CLI's own cloud
definitions (azure-cli 2.91's azure/cli/core/cloud.py, read by running the CLI's virtualenv), and Microsoft's list
of token-exchange audiences (cited in wizard/azure/clouds.py). Then what the spec's cloud drives: the profile's
endpoints, the federated credentials' audience, the GitHub workflow and storage snippets, the sign-in way and the
note when az is on another cloud.
"""

from __future__ import annotations

import json
import subprocess
import uuid

import pytest
from azure.identity import AzureAuthorityHosts

from tests.az_cli import AZ_VERSION, AzInstallError, ensure_az
from wizard.azure import clouds
from wizard.azure.profiles import CLOUDS as PROFILES
from wizard.azure.signin import az_cloud_note, choose_auth
from wizard.outputs import next_steps
from wizard.spec import Spec
from wizard.spec_workloads import TOKEN_EXCHANGE_AUDIENCE, token_exchange_audience
from wizard.targets.github_snippet import github_section

AZ_CLOUDS = """
import json
from azure.cli.core.cloud import AZURE_CHINA_CLOUD, AZURE_PUBLIC_CLOUD, AZURE_US_GOV_CLOUD
print(json.dumps({c.name: {"endpoints": vars(c.endpoints), "suffixes": vars(c.suffixes)}
                  for c in (AZURE_PUBLIC_CLOUD, AZURE_CHINA_CLOUD, AZURE_US_GOV_CLOUD)}))
"""


@pytest.fixture(scope="module")
def az_clouds() -> dict[str, dict[str, dict[str, str]]]:
    try:
        python = ensure_az(AZ_VERSION, timeout=600)[0]
    except AzInstallError as err:
        pytest.fail(f"azure-cli {AZ_VERSION} could not be installed: {err}", pytrace=False)
    done = subprocess.run([str(python), "-c", AZ_CLOUDS], capture_output=True, text=True, timeout=120, check=True)
    loaded: dict[str, dict[str, dict[str, str]]] = json.loads(done.stdout)
    return loaded


def test_authority_hosts_are_azure_identitys():
    assert {c.name: c.authority_host for c in clouds.CLOUDS.values()} == {
        "public": f"https://{AzureAuthorityHosts.AZURE_PUBLIC_CLOUD}",
        "china": f"https://{AzureAuthorityHosts.AZURE_CHINA}",
        "usgov": f"https://{AzureAuthorityHosts.AZURE_GOVERNMENT}"}


@pytest.mark.timeout(900)
def test_every_endpoint_and_suffix_is_the_az_clis(az_clouds):
    assert set(az_clouds) == {c.az_name for c in clouds.CLOUDS.values()}
    for cloud in clouds.CLOUDS.values():
        az = az_clouds[cloud.az_name]
        assert cloud.arm_url == az["endpoints"]["resource_manager"].rstrip("/")
        assert cloud.authority_host == az["endpoints"]["active_directory"]
        assert cloud.keyvault_suffix == az["suffixes"]["keyvault_dns"]
        assert cloud.storage_suffix == az["suffixes"]["storage_endpoint"]
        assert cloud.batch_resource == az["endpoints"]["batch_resource_id"]
        profile = PROFILES[cloud.name]  # what the clients are built from
        assert (profile.arm_url, profile.authority_host, profile.keyvault_dns_suffix, profile.az_cloud_name) == (
            cloud.arm_url, cloud.authority_host, cloud.keyvault_suffix, cloud.az_name)
        assert profile.arm_scope == f"{cloud.arm_url}/.default"
        assert profile.keyvault_scope == f"https://{az['suffixes']['keyvault_dns'].lstrip('.')}/.default"


def test_token_exchange_audiences_are_microsofts_per_cloud():
    # Microsoft Learn, "Configure an application to trust a managed identity": Public cloud api://AzureADTokenExchange,
    # Fairfax api://AzureADTokenExchangeUSGov, Mooncake api://AzureADTokenExchangeChina.
    assert {c.name: c.token_exchange_audience for c in clouds.CLOUDS.values()} == {
        "public": "api://AzureADTokenExchange", "usgov": "api://AzureADTokenExchangeUSGov",
        "china": "api://AzureADTokenExchangeChina"}
    assert token_exchange_audience("usgov") == "api://AzureADTokenExchangeUSGov"
    assert token_exchange_audience("china", TOKEN_EXCHANGE_AUDIENCE) == "api://AzureADTokenExchangeChina"
    assert token_exchange_audience("usgov", "api://my-own") == "api://my-own"  # a spec's own audience stays


def test_unknown_clouds_are_refused_with_the_list():
    problems = Spec(name="x", cloud="germany", subscription="s", resource_group="rg").validate()
    assert any(p.startswith("cloud: 'germany' is not a cloud mi-wizard knows: use one of public, china, usgov. "
                            "Azure Germany closed") for p in problems), problems
    assert not [p for p in Spec(name="x", cloud="usgov", subscription="s", resource_group="rg").validate()
                if p.startswith("cloud:")]


IDENTITY = {"name": "id-x", "client_id": "11111111-1111-1111-1111-111111111111", "tenant_id": "t",
            "id": "/subscriptions/22222222-2222-2222-2222-222222222222/resourceGroups/rg/providers/"
                  "Microsoft.ManagedIdentity/userAssignedIdentities/id-x"}


@pytest.mark.parametrize("cloud,environment,audience", [
    ("public", None, None),
    ("usgov", "AzureUSGovernment", "api://AzureADTokenExchangeUSGov"),
    ("china", "AzureChinaCloud", "api://AzureADTokenExchangeChina")])
def test_the_github_workflow_names_the_cloud_and_its_audience(cloud, environment, audience):
    credential = {"subject": "repo:o/r:ref:refs/heads/main", "audience": token_exchange_audience(cloud)}
    for text in (github_section(IDENTITY, [credential]), github_section(IDENTITY, [credential], cloud=cloud)):
        assert (f"environment: {environment}" in text) == bool(environment)
        assert (f"audience: {audience}" in text) == bool(audience)
        if not environment:
            assert "environment:" not in text.split("steps:")[1].split("- run:")[0]


@pytest.mark.parametrize("cloud,host", [("public", "blob.core.windows.net"), ("usgov", "blob.core.usgovcloudapi.net"),
                                        ("china", "blob.core.chinacloudapi.cn")])
def test_the_storage_snippet_uses_the_clouds_suffix(cloud, host):
    account = ("/subscriptions/22222222-2222-2222-2222-222222222222/resourceGroups/rg/providers/"
               "Microsoft.Storage/storageAccounts/stdata")
    text = next_steps({"cloud": cloud, "target": {"kind": "none"}},
                      {"identity": IDENTITY, "grants": {"grants": [{"role": "Storage Blob Data Reader",
                                                                    "scope": account}]}})
    assert f"BlobServiceClient('https://stdata.{host}', credential)" in text


def az_files(tmp_path, *, active: str | None, signed_in_on: str | None) -> dict[str, str]:
    """A machine's az: on PATH, its config's active cloud, and an account of one cloud in azureProfile.json."""
    config = tmp_path / "azure"
    config.mkdir(parents=True)
    if active:
        (config / "config").write_text(f"[cloud]\nname = {active}\n")
    if signed_in_on:
        (config / "azureProfile.json").write_text(json.dumps({"subscriptions": [
            {"id": str(uuid.uuid4()), "isDefault": True, "environmentName": signed_in_on,
             "user": {"name": "ada@contoso.com", "type": "user"}}]}), encoding="utf-8-sig")
    az = tmp_path / "bin" / "az"
    az.parent.mkdir(parents=True)
    az.write_text("#!/bin/sh\n")
    az.chmod(0o755)
    return {"PATH": str(az.parent), "AZURE_CONFIG_DIR": str(config)}


def test_the_default_way_is_az_when_it_is_signed_in_else_the_chain(tmp_path):
    env = az_files(tmp_path, active=None, signed_in_on="AzureCloud")
    assert choose_auth(None, sandbox=False, env=env) == (
        "cli", "az is signed in as ada@contoso.com; --auth chooses another way")
    assert choose_auth("msi", sandbox=False, env=env) == ("msi", "--auth msi")
    assert choose_auth(None, sandbox=True, env=env)[0] == "client_secret"
    assert choose_auth(None, sandbox=False, env={"PATH": str(tmp_path / "none")}) == (
        "default", "az is not installed; --auth chooses a way")


def test_az_on_another_cloud_is_said_with_the_switch(tmp_path):
    env = az_files(tmp_path, active="AzureCloud", signed_in_on="AzureCloud")
    note = az_cloud_note("AzureUSGovernment", env)
    assert note == ("Note: az's active cloud is AzureCloud (public), not this setup's AzureUSGovernment. Switch with "
                    "`az cloud set --name AzureUSGovernment`, then `az login`.")
    assert az_cloud_note("AzureCloud", env) == ""
    # Signed in on the public cloud only: for a US Government setup az is not signed in (on its active cloud).
    gov = az_files(tmp_path / "gov", active="AzureUSGovernment", signed_in_on="AzureCloud")
    assert choose_auth(None, sandbox=False, env=gov)[0] == "default"


def test_the_sandbox_subscriptions_are_the_sandboxs_seed():
    from wizard.connect import SANDBOX_SUBSCRIPTIONS
    from wizard.sandbox.app import stable_id
    assert SANDBOX_SUBSCRIPTIONS == {stable_id("sub:dev"): "Contoso Dev", stable_id("sub:prod"): "Contoso Prod"}
