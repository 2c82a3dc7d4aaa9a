"""The sandbox's foundation through the real SDK: auth, subscriptions, resource groups, identities, errors."""

from __future__ import annotations

import json
import ssl
import urllib.error
import urllib.request

import pytest
from azure.core.exceptions import (
    ClientAuthenticationError,
    HttpResponseError,
    ResourceNotFoundError,
    ServiceRequestError,
)


def _raw(sandbox, method, path, body=None, token=None, headers=None):
    """A raw HTTPS call that trusts the sandbox CA, for what the SDK never sends (bad JSON, no token)."""
    ctx = ssl.create_default_context(cafile=str(sandbox.ca_path))
    req = urllib.request.Request(sandbox.arm_url + path, method=method, data=body, headers=dict(headers or {}))
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, context=ctx) as resp:
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), err.read()


def _token(credential):
    return credential.get_token("https://management.azure.com/.default").token


def test_subscriptions_listed_for_owner(az):
    names = sorted(s.display_name for s in az.subscriptions.subscriptions.list())
    assert names == ["Contoso Dev", "Contoso Prod"]


def test_resource_group_create_get_exists_and_list(az):
    created = az.resources.resource_groups.create_or_update("rg-new", {"location": "eastus"})
    assert created.properties.provisioning_state == "Succeeded"
    assert az.resources.resource_groups.check_existence("rg-new") is True
    assert az.resources.resource_groups.check_existence("rg-missing") is False
    assert "rg-new" in {g.name for g in az.resources.resource_groups.list()}
    assert "rg-prefect-demo" in {g.name for g in az.resources.resource_groups.list()}
    with pytest.raises(ResourceNotFoundError) as err:
        az.resources.resource_groups.get("rg-missing")
    assert err.value.error.code == "ResourceGroupNotFound"


def test_resource_group_create_is_201_then_200(sandbox, credential, sub_id):
    token = _token(credential)
    path = f"/subscriptions/{sub_id}/resourcegroups/rg-twice?api-version=2025-04-01"
    body = json.dumps({"location": "eastus"}).encode()
    first = _raw(sandbox, "PUT", path, body, token, {"Content-Type": "application/json"})
    second = _raw(sandbox, "PUT", path, body, token, {"Content-Type": "application/json"})
    assert (first[0], second[0]) == (201, 200)


def test_resource_group_name_and_location_rules(az):
    with pytest.raises(HttpResponseError) as err:
        az.resources.resource_groups.create_or_update("bad.", {"location": "eastus"})
    assert err.value.error.code == "InvalidResourceGroup"
    with pytest.raises(HttpResponseError) as err:
        az.resources.resource_groups.create_or_update("rg-moon", {"location": "moonbase"})
    assert err.value.error.code == "LocationNotAvailableForResourceType"


def test_identity_lifecycle(az):
    az.resources.resource_groups.create_or_update("rg-id", {"location": "eastus"})
    identity = az.msi.user_assigned_identities.create_or_update("rg-id", "id-app", {"location": "eastus"})
    assert identity.principal_id and identity.client_id and identity.tenant_id
    again = az.msi.user_assigned_identities.get("rg-id", "id-app")
    assert (again.principal_id, again.client_id) == (identity.principal_id, identity.client_id)
    assert [i.name for i in az.msi.user_assigned_identities.list_by_resource_group("rg-id")] == ["id-app"]
    assert "id-app" in [i.name for i in az.msi.user_assigned_identities.list_by_subscription()]
    az.msi.user_assigned_identities.delete("rg-id", "id-app")
    with pytest.raises(ResourceNotFoundError) as err:
        az.msi.user_assigned_identities.get("rg-id", "id-app")
    assert err.value.error.code == "ResourceNotFound"


def test_identity_name_rules_and_missing_group(az):
    with pytest.raises(HttpResponseError) as err:
        az.msi.user_assigned_identities.create_or_update("rg-prefect-demo", "x", {"location": "eastus"})
    assert err.value.error.code == "InvalidResourceName"
    with pytest.raises(ResourceNotFoundError) as err:
        az.msi.user_assigned_identities.create_or_update("rg-nowhere", "id-app", {"location": "eastus"})
    assert err.value.error.code == "ResourceGroupNotFound"


def test_federated_credentials(az):
    az.msi.user_assigned_identities.create_or_update("rg-aks-apps", "id-aks", {"location": "westus2"})
    fics = az.msi.federated_identity_credentials
    body = {"properties": {"issuer": "https://oidc.example/issuer", "subject": "system:serviceaccount:ns:sa",
                           "audiences": ["api://AzureADTokenExchange"]}}
    created = fics.create_or_update("rg-aks-apps", "id-aks", "fic-one", body)
    assert created.subject == "system:serviceaccount:ns:sa"
    assert fics.get("rg-aks-apps", "id-aks", "fic-one").issuer == "https://oidc.example/issuer"
    assert [f.name for f in fics.list("rg-aks-apps", "id-aks")] == ["fic-one"]
    with pytest.raises(HttpResponseError) as err:
        fics.create_or_update("rg-aks-apps", "id-aks", "fic-two", body)
    assert err.value.status_code == 409
    fics.delete("rg-aks-apps", "id-aks", "fic-one")
    assert list(fics.list("rg-aks-apps", "id-aks")) == []


def test_missing_token_expired_token_and_wrong_audience(sandbox, credential, sub_id):
    path = f"/subscriptions/{sub_id}/resourcegroups?api-version=2025-04-01"
    status, headers, body = _raw(sandbox, "GET", path)
    assert status == 401 and json.loads(body)["error"]["code"] == "AuthenticationFailed"
    assert "WWW-Authenticate" in headers
    op = sandbox.operator()
    expired, _ = sandbox.issuer.issue(object_id=op["objectId"], app_id=op["clientId"],
                                      audience="https://management.azure.com/", lifetime_s=-10)
    status, _, body = _raw(sandbox, "GET", path, token=expired)
    assert status == 401 and json.loads(body)["error"]["code"] == "ExpiredAuthenticationToken"
    vault_token = credential.get_token("https://vault.azure.net/.default").token
    status, _, body = _raw(sandbox, "GET", path, token=vault_token)
    assert status == 401 and json.loads(body)["error"]["code"] == "InvalidAuthenticationTokenAudience"


def test_bad_requests_get_arm_errors_not_crashes(sandbox, credential, sub_id):
    token = _token(credential)
    status, _, body = _raw(sandbox, "GET", f"/subscriptions/{sub_id}/resourcegroups", token=token)
    assert status == 400 and json.loads(body)["error"]["code"] == "MissingApiVersionParameter"
    status, _, body = _raw(sandbox, "PUT", f"/subscriptions/{sub_id}/resourcegroups/rg-x?api-version=2025-04-01",
                           b"{not json", token, {"Content-Type": "application/json"})
    assert status == 400 and json.loads(body)["error"]["code"] == "InvalidRequestContent"
    status, _, body = _raw(sandbox, "GET", f"/subscriptions/{sub_id}/providers/Microsoft.Nope/things?api-version=1",
                           token=token)
    assert status == 404 and json.loads(body)["error"]["code"] == "InvalidResourceType"
    status, _, body = _raw(sandbox, "GET", "/subscriptions/00000000-0000-0000-0000-000000000000/resourcegroups"
                           "?api-version=2025-04-01", token=token)
    assert status == 404 and json.loads(body)["error"]["code"] == "SubscriptionNotFound"
    # The server is still healthy after all of that.
    status, _, _ = _raw(sandbox, "GET", f"/subscriptions/{sub_id}/resourcegroups?api-version=2025-04-01", token=token)
    assert status == 200


def test_wrong_client_secret_is_refused(sandbox, profile):
    from wizard.azure.clients import AzureClients, make_credential
    bad = profile.with_operator(profile.client_id, "not-the-secret")
    az = AzureClients(bad, make_credential(bad))
    with pytest.raises(ClientAuthenticationError) as err:
        list(az.subscriptions.subscriptions.list())
    assert "AADSTS7000215" in str(err.value)


def test_tls_is_verified_not_disabled(sandbox, profile):
    """Without the sandbox CA the SDK refuses the connection: trust comes from the profile, not from off."""
    from dataclasses import replace

    from wizard.azure.clients import AzureClients, make_credential
    untrusted = replace(profile, ca_bundle=None)
    az = AzureClients(untrusted, make_credential(untrusted))
    with pytest.raises((ServiceRequestError, ClientAuthenticationError)) as err:
        list(az.subscriptions.subscriptions.list())
    assert "CERTIFICATE_VERIFY_FAILED" in str(err.value)


def test_contributor_cannot_write_role_assignments_but_can_create_groups(contributor_az):
    contributor_az.resources.resource_groups.create_or_update("rg-contrib", {"location": "eastus"})
    assert contributor_az.resources.resource_groups.check_existence("rg-contrib")


def test_data_persists_across_restart(tmp_path):
    from wizard.azure.clients import AzureClients, make_credential
    from wizard.azure.profiles import sandbox_profile
    from wizard.sandbox import running_sandbox
    for expect_existing in (False, True):
        with running_sandbox(tmp_path / "persist") as sb:
            prof = sandbox_profile(sb.descriptor())
            az = AzureClients(prof, make_credential(prof), sb.subscription_ids[0])
            assert az.resources.resource_groups.check_existence("rg-kept") is expect_existing
            az.resources.resource_groups.create_or_update("rg-kept", {"location": "eastus"})


def test_data_dir_holding_secret_values_is_private_to_the_user(sandbox):
    """The sandbox's vaults keep secret values on disk, as Key Vault does: nobody else on the machine reads them."""
    assert sandbox.data_dir.stat().st_mode & 0o777 == 0o700
    assert (sandbox.data_dir / "sandbox.db").stat().st_mode & 0o777 == 0o600
