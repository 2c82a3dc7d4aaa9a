"""What clients need to find things, through the real SDK and raw HTTPS: ARM's $filter on the generic resource lists,
the cloud's metadata endpoints (what `az cloud register` discovers), the providers, and ARM's tolerance of an empty
path segment."""

from __future__ import annotations

import json
import ssl
import urllib.error
import urllib.request
from urllib.parse import quote

import pytest
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError

from wizard.azure import scopes

ARM_SCOPE = "https://management.azure.com/.default"
MSI = "Microsoft.ManagedIdentity/userAssignedIdentities"


def _raw(sandbox, method: str, path: str, token: str | None = None, body: dict | None = None) -> tuple[int, object]:
    ctx = ssl.create_default_context(cafile=str(sandbox.ca_path))
    headers = {"Content-Type": "application/json"} if body is not None else {}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    req = urllib.request.Request(sandbox.arm_url + path, method=method, headers=headers,
                                 data=None if body is None else json.dumps(body).encode())
    try:
        with urllib.request.urlopen(req, context=ctx) as resp:
            raw = resp.read()
            return resp.status, json.loads(raw) if raw else None
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


@pytest.fixture
def tagged(az):
    """A group with three identities: two tagged miTeam=Payments (one also miEnv=prod), one untagged. (Tag names
    the demo seed does not use, so that a tag filter alone finds only these.)"""
    az.resources.resource_groups.create_or_update("rg-Find-Me", {"location": "westeurope"})
    for name, tags in (("id-pay-api", {"miTeam": "Payments", "miEnv": "prod"}), ("id-pay-batch", {"miTeam": "Payments"}),
                       ("id-plain", {})):
        az.msi.user_assigned_identities.create_or_update("rg-Find-Me", name, {"location": "westeurope", "tags": tags})
    return "rg-Find-Me"


def _names(az, filter_text: str, **kwargs) -> set[str]:
    return {r.name for r in az.resources.resources.list(filter=filter_text, **kwargs)}


def test_every_filter_form_on_the_subscription_resource_list(az, tagged):
    assert _names(az, f"resourceType eq '{MSI.upper()}'") >= {"id-pay-api", "id-pay-batch", "id-plain"}
    assert _names(az, f"resourceType eq '{MSI}'") == {r.name for r in az.msi.user_assigned_identities
                                                      .list_by_subscription()}
    assert _names(az, "name eq 'ID-PAY-API'") == {"id-pay-api"}
    assert _names(az, "resourceGroup eq 'RG-FIND-ME'") == {"id-pay-api", "id-pay-batch", "id-plain"}
    assert _names(az, "resourceGroup eq 'rg-find-me' and location eq 'West Europe'") == {
        "id-pay-api", "id-pay-batch", "id-plain"}
    assert _names(az, "tagName eq 'MITEAM'") == {"id-pay-api", "id-pay-batch"}
    assert _names(az, "tagName eq 'miteam' and tagValue eq 'payments'") == {"id-pay-api", "id-pay-batch"}
    assert _names(az, "tagName eq 'miEnv' and tagValue eq 'dev'") == set()
    assert _names(az, "startswith(tagName, 'mie')") == {"id-pay-api"}
    assert _names(az, "substringof('PAY', name) and resourceGroup eq 'rg-find-me'") == {"id-pay-api", "id-pay-batch"}
    assert _names(az, "resourceGroup eq 'rg-find-me' and name ne 'id-plain'") == {"id-pay-api", "id-pay-batch"}
    # What `az keyvault show -n NAME` without -g sends, and what vaults.list() sends.
    found = list(az.resources.resources.list(filter="resourceType eq 'Microsoft.KeyVault/vaults' and "
                                                    "name eq 'kv-legacy-ap'"))
    assert [(r.name, r.type, r.location) for r in found] == [("kv-legacy-ap", "Microsoft.KeyVault/vaults", "eastus")]
    assert "/resourceGroups/rg-shared-secrets/" in found[0].id
    assert [v.name for v in az.keyvault.vaults.list()] == ["kv-legacy-ap"]


def test_tags_come_back_except_when_filtering_by_tag(az, tagged):
    listed = {r.name: r for r in az.resources.resources.list(filter="resourceGroup eq 'rg-find-me'")}
    assert listed["id-pay-api"].tags == {"miTeam": "Payments", "miEnv": "prod"} and listed["id-plain"].tags is None
    # ARM: "when resources are filtered by tag name and value, the original tags ... will not be returned".
    by_tag = list(az.resources.resources.list(filter="tagName eq 'miTeam' and tagValue eq 'Payments'"))
    assert by_tag and all(r.tags is None for r in by_tag)


def test_resource_group_resource_list_with_filter_and_expand(az, tagged):
    listed = list(az.resources.resources.list_by_resource_group(tagged, filter="tagName eq 'miTeam'",
                                                                expand="createdTime,changedTime,provisioningState"))
    assert {r.name for r in listed} == {"id-pay-api", "id-pay-batch"}
    assert {r.name for r in az.resources.resources.list_by_resource_group("RG-FIND-ME")} == {
        "id-pay-api", "id-pay-batch", "id-plain"}
    with pytest.raises(ResourceNotFoundError) as err:
        list(az.resources.resources.list_by_resource_group("rg-not-there"))
    assert err.value.status_code == 404 and err.value.error.code == "ResourceGroupNotFound"


def test_resource_groups_filter_by_tag(az):
    az.resources.resource_groups.create_or_update("rg-tagged-cost", {"location": "eastus", "tags": {"cost": "CC-7"}})
    assert {g.name for g in az.resources.resource_groups.list(filter="tagName eq 'cost' and tagValue eq 'cc-7'")} == {
        "rg-tagged-cost"}


@pytest.mark.parametrize("bad", [
    "colour eq 'blue'", "name eq 'a' or name eq 'b'", "name gt 'a'", "name eq blue", "name eq 'open",
    "tagValue eq 'x'", "tagName ne 'x'", "substringof('x', location)", "resourceType eq 'a' and"])
def test_unsupported_filters_get_arms_400(az, sandbox, credential, sub_id, bad):
    with pytest.raises(HttpResponseError) as err:
        list(az.resources.resources.list(filter=bad))
    assert err.value.status_code == 400 and err.value.error.code == "InvalidFilterInQueryString"
    status, body = _raw(sandbox, "GET", f"/subscriptions/{sub_id}/resources?api-version=2025-04-01&$filter="
                        f"{quote(bad)}", credential.get_token(ARM_SCOPE).token)
    assert (status, body) == (400, {"error": {"code": "InvalidFilterInQueryString",
                                              "message": f"Invalid $filter '{bad}' specified in the query string."}})


def test_metadata_endpoints_describe_the_sandbox_cloud(sandbox, credential, sub_id):
    status, doc = _raw(sandbox, "GET", "/metadata/endpoints?api-version=2022-09-01")  # no token: public, as Azure
    assert status == 200 and isinstance(doc, dict)
    assert doc["resourceManager"] == sandbox.arm_url + "/"
    assert doc["authentication"]["loginEndpoint"] == sandbox.authority
    # Azure's suffix (az derives the Key Vault token audience from it), as the descriptor's az line gives it.
    assert doc["suffixes"]["keyVaultDns"] == "vault.azure.net"
    assert "--suffix-keyvault-dns .vault.azure.net" in sandbox.descriptor()["az_cloud_register"]
    # What azure-cli's cloud register reads with [] (a missing key fails it): name, audiences[0], loginEndpoint.
    assert doc["name"] and doc["suffixes"]["storage"] and doc["batch"] and doc["sqlManagement"]
    # The discovered audience is one the sandbox issues and accepts ARM tokens for.
    token = credential.get_token(doc["authentication"]["audiences"][0] + "/.default").token
    assert _raw(sandbox, "GET", f"/subscriptions/{sub_id}?api-version=2022-12-01", token)[0] == 200

    status, clouds = _raw(sandbox, "GET", "/metadata/endpoints?api-version=2019-05-01")
    assert status == 200 and isinstance(clouds, list) and [c["resourceManager"] for c in clouds] == [
        sandbox.arm_url + "/"]
    assert _raw(sandbox, "GET", "/metadata/endpoints?api-version=2020-06-01")[1] == clouds
    status, legacy = _raw(sandbox, "GET", "/metadata/endpoints?api-version=2015-01-01")
    assert status == 200 and set(legacy) == {"galleryEndpoint", "graphEndpoint", "portalEndpoint", "authentication"}
    assert legacy["authentication"]["loginEndpoint"] == sandbox.authority + "/"

    status, body = _raw(sandbox, "GET", "/metadata/endpoints")
    assert status == 400 and body["error"]["code"] == "MissingApiVersionParameter"
    status, body = _raw(sandbox, "GET", "/metadata/endpoints?api-version=2099-01-01")
    assert status == 400 and body["error"]["code"] == "InvalidApiVersionParameter"
    assert "2022-09-01" in body["error"]["message"]


def test_providers_list_what_the_sandbox_serves(az):
    keyvault = az.resources.providers.get("microsoft.keyvault")
    assert (keyvault.namespace, keyvault.registration_state) == ("Microsoft.KeyVault", "Registered")
    vaults = next(t for t in keyvault.resource_types if t.resource_type == "vaults")
    assert "2026-05-15" in vaults.api_versions and "East US" in vaults.locations
    assert {"vaults/secrets", "vaults/accessPolicies", "deletedVaults", "locations/deletedVaults"} <= {
        t.resource_type for t in keyvault.resource_types}
    listed = {p.namespace: p for p in az.resources.providers.list()}
    assert {"Microsoft.KeyVault", "Microsoft.ManagedIdentity", "Microsoft.ContainerInstance", "Microsoft.Batch",
            "Microsoft.Authorization", "Microsoft.Resources"} <= set(listed)
    # Every type mi-wizard reads generically is listed with the api-version it reads it with.
    for rtype, version in scopes.API_VERSIONS.items():
        namespace, _, rest = rtype.partition("/")
        served = {t.resource_type.lower(): t.api_versions for t in listed[next(
            n for n in listed if n.lower() == namespace)].resource_types}
        assert version in served[rest], rtype
    # And a type it has no version for resolves through the provider, newest stable first.
    assert scopes.api_version(az, MSI + "/federatedIdentityCredentials") == "2024-11-30"
    assert az.resources.providers.register("Microsoft.ContainerInstance").registration_state == "Registered"
    with pytest.raises(ResourceNotFoundError) as err:
        az.resources.providers.get("Microsoft.NotAThing")
    assert err.value.status_code == 404 and err.value.error.code == "InvalidResourceNamespace"
    assert err.value.error.message == "The resource namespace 'Microsoft.NotAThing' is invalid."


def test_an_empty_path_segment_is_accepted_as_arm_does(az, sandbox, credential, sub_id):
    token = credential.get_token(ARM_SCOPE).token
    group = f"/subscriptions/{sub_id}/resourceGroups/rg-prefect-demo/providers"
    status, body = _raw(sandbox, "PUT", f"{group}/Microsoft.ManagedIdentity//userAssignedIdentities/id-double-slash"
                                        "?api-version=2024-11-30", token, {"location": "eastus"})
    assert status == 201 and body["id"] == f"{group}/Microsoft.ManagedIdentity/userAssignedIdentities/id-double-slash"
    assert az.msi.user_assigned_identities.get("rg-prefect-demo", "id-double-slash").principal_id == \
        body["properties"]["principalId"]
    status, single = _raw(sandbox, "GET", f"{group}/Microsoft.ContainerInstance/containerGroups/cg-prefect-worker"
                                          "?api-version=2023-05-01", token)
    status_double, double = _raw(sandbox, "GET", f"{group}/Microsoft.ContainerInstance//containerGroups/"
                                                 "cg-prefect-worker?api-version=2023-05-01", token)
    assert (status, status_double) == (200, 200) and double["id"] == single["id"]
