"""Key Vault secrets through the real SecretClient: the 401 challenge, set/get/list/update/delete/recover/purge,
SecretBundle shapes, errors, and data-plane authorization (RBAC dataActions with propagation delay, access
policies, and RBAC vaults ignoring access policies)."""

from __future__ import annotations

import json
import re
import ssl
import time
import urllib.error
import urllib.request

import pytest
from azure.core.credentials import AccessToken, AccessTokenInfo
from azure.core.exceptions import HttpResponseError, ResourceExistsError, ResourceNotFoundError

from wizard.azure.clients import AzureClients
from wizard.sandbox.app import stable_id
from wizard.sandbox.authz import ROLE_ASSIGNMENT
from wizard.sandbox.seed import assign

SECRETS_USER = "4633458b-17de-408a-b874-0445c86b69e6"
SECRETS_OFFICER = "b86a8fe4-44ce-4948-aee5-eccb2c155cd7"


class IssuedCredential:
    """A real token signed by the sandbox's issuer for a chosen principal: what IMDS hands a workload."""

    def __init__(self, sandbox, object_id: str, app_id: str):
        self.sandbox, self.object_id, self.app_id = sandbox, object_id, app_id

    def _issue(self) -> tuple[str, int]:
        return self.sandbox.issuer.issue(object_id=self.object_id, app_id=self.app_id,
                                         audience="https://vault.azure.net")

    def get_token(self, *scopes, **kwargs) -> AccessToken:
        return AccessToken(*self._issue())

    def get_token_info(self, *scopes, options=None) -> AccessTokenInfo:
        return AccessTokenInfo(*self._issue())


def _vault(az, sandbox, name, rg="rg-shared-secrets", **props):
    params = {"location": "eastus", "properties": {"tenantId": sandbox.tenant_id,
                                                   "sku": {"family": "A", "name": "standard"}, **props}}
    return az.keyvault.vaults.begin_create_or_update(rg, name, params).result()


def _identity(az, profile, sandbox, name):
    identity = az.msi.user_assigned_identities.create_or_update("rg-prefect-demo", name, {"location": "eastus"})
    cred = IssuedCredential(sandbox, identity.principal_id, identity.client_id)
    return identity.principal_id, AzureClients(profile, cred, az.subscription_id)


def _grant(sandbox, scope, role, principal_id, label, fresh=False):
    """A role assignment stored with seed.assign()'s shape; `fresh` makes it created now (so it must propagate)."""
    assign(sandbox, scope, role, principal_id, label)
    if fresh:
        ra = sandbox.store.get(ROLE_ASSIGNMENT, stable_id(label))
        ra["_sandbox"]["created"] = time.time()
        sandbox.store.put(ROLE_ASSIGNMENT, stable_id(label), ra)


def _officer_vault(az, sandbox, name):
    """An RBAC vault where the Owner operator was granted Key Vault Secrets Officer (Owner alone has no dataActions)."""
    vault = _vault(az, sandbox, name)
    _grant(sandbox, vault.id, SECRETS_OFFICER, sandbox.operator()["objectId"], f"officer:{name}")
    return vault, az.secrets(vault.properties.vault_uri)


def _inner(err) -> str:
    return (err.value.error.innererror or {}).get("code", "")


def test_missing_token_gets_the_key_vault_challenge(sandbox):
    url = sandbox.vault_url("kv-legacy-ap") + "secrets/db-password/?api-version=2026-04-01"
    ctx = ssl.create_default_context(cafile=str(sandbox.ca_path))
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(urllib.request.Request(url), context=ctx)
    assert err.value.code == 401
    challenge = err.value.headers["WWW-Authenticate"]
    assert challenge.startswith("Bearer authorization=") and 'resource="https://vault.azure.net"' in challenge
    assert json.loads(err.value.read())["error"]["message"] == "AKV10000: Request is missing a Bearer or PoP token."


def test_set_get_versions_and_bundle_shape(az, sandbox):
    vault, client = _officer_vault(az, sandbox, "kv-shapes")
    first = client.set_secret("git-token", "one", content_type="text/plain", tags={"app": "prefect"})
    second = client.set_secret("git-token", "two")
    port = vault.properties.vault_uri.rstrip("/").rsplit(":", 1)[1]
    assert re.fullmatch(rf"https://127\.0\.0\.1:{port}/secrets/git-token/[0-9a-f]{{32}}", first.id)
    assert first.properties.version != second.properties.version
    latest = client.get_secret("git-token")  # GET /secrets/git-token/ (trailing slash)
    assert (latest.value, latest.properties.version) == ("two", second.properties.version)
    old = client.get_secret("git-token", first.properties.version)
    assert (old.value, old.properties.content_type, old.properties.tags) == ("one", "text/plain", {"app": "prefect"})
    assert old.properties.recovery_level == "Recoverable+Purgeable" and old.properties.recoverable_days == 90
    assert old.properties.enabled is True and old.properties.created_on is not None
    client.set_secret("other", "x")
    assert sorted(p.name for p in client.list_properties_of_secrets()) == ["git-token", "other"]
    versions = {p.version for p in client.list_properties_of_secret_versions("git-token")}
    assert versions == {first.properties.version, second.properties.version}


def test_update_properties_and_disabled_secret_is_forbidden(az, sandbox):
    _, client = _officer_vault(az, sandbox, "kv-disable")
    client.set_secret("api-key", "v1")
    updated = client.update_secret_properties("api-key", enabled=False, content_type="password")
    assert updated.enabled is False and updated.content_type == "password"
    with pytest.raises(HttpResponseError) as err:
        client.get_secret("api-key")
    assert err.value.status_code == 403 and err.value.error.code == "Forbidden" and _inner(err) == "SecretDisabled"
    assert err.value.error.message == "Operation get is not allowed on a disabled secret."
    client.update_secret_properties("api-key", enabled=True)
    assert client.get_secret("api-key").value == "v1"


def test_errors_missing_bad_name_and_too_large(az, sandbox):
    _, client = _officer_vault(az, sandbox, "kv-errors")
    with pytest.raises(ResourceNotFoundError) as err:
        client.get_secret("nope")
    assert err.value.error.code == "SecretNotFound"
    assert err.value.error.message.startswith("A secret with (name/id) nope was not found in this key vault.")
    with pytest.raises(HttpResponseError) as err:
        client.set_secret("bad_name", "x")
    assert err.value.status_code == 400 and err.value.error.code == "BadParameter"
    client.set_secret("big", "x" * 25600)
    with pytest.raises(HttpResponseError) as err:
        client.set_secret("big", "x" * 25601)
    assert err.value.status_code == 400 and err.value.error.code == "BadParameter"


def test_delete_recover_and_purge(az, sandbox):
    _, client = _officer_vault(az, sandbox, "kv-lifecycle")
    created = client.set_secret("db-password", "s3cret")
    deleted = client.begin_delete_secret("db-password").result()
    assert deleted.recovery_id.endswith("/deletedsecrets/db-password") and deleted.deleted_date is not None
    assert deleted.properties.version == created.properties.version
    with pytest.raises(ResourceNotFoundError):
        client.get_secret("db-password")
    with pytest.raises(ResourceExistsError) as err:
        client.set_secret("db-password", "again")
    assert _inner(err) == "ObjectIsDeletedButRecoverable"
    assert [d.name for d in client.list_deleted_secrets()] == ["db-password"]
    assert client.get_deleted_secret("db-password").recovery_id == deleted.recovery_id
    client.begin_recover_deleted_secret("db-password").result()
    assert client.get_secret("db-password").value == "s3cret"
    client.begin_delete_secret("db-password").result()
    client.purge_deleted_secret("db-password")
    assert client.set_secret("db-password", "fresh").value == "fresh"


def test_owner_has_no_data_actions_until_granted(az, sandbox):
    vault = _vault(az, sandbox, "kv-owner-rbac")
    client = az.secrets(vault.properties.vault_uri)
    with pytest.raises(HttpResponseError) as err:
        client.set_secret("git-token", "x")
    assert err.value.status_code == 403 and err.value.error.code == "Forbidden" and _inner(err) == "ForbiddenByRbac"
    message = err.value.error.message
    assert message.startswith("Caller is not authorized to perform action on resource.\r\n")
    assert "Action: 'Microsoft.KeyVault/vaults/secrets/setSecret/action'" in message
    assert f"Resource: '{vault.id.lower()}/secrets/git-token'" in message
    assert f"oid={sandbox.operator()['objectId']}" in message and "Vault: kv-owner-rbac;location=eastus" in message
    _grant(sandbox, vault.id, SECRETS_OFFICER, sandbox.operator()["objectId"], "officer:owner-rbac")
    assert client.set_secret("git-token", "x").name == "git-token"


def test_secrets_user_scopes_for_a_managed_identity(az, profile, sandbox):
    vault, officer = _officer_vault(az, sandbox, "kv-scopes")
    officer.set_secret("git-token", "t0ken")
    officer.set_secret("unrelated", "x")
    principal, mi = _identity(az, profile, sandbox, "id-worker")
    client = mi.secrets(vault.properties.vault_uri)
    with pytest.raises(HttpResponseError) as err:
        client.get_secret("git-token")
    assert _inner(err) == "ForbiddenByRbac"
    _grant(sandbox, f"{vault.id}/secrets/git-token", SECRETS_USER, principal, "user:secret-scope")
    assert client.get_secret("git-token").value == "t0ken"
    with pytest.raises(HttpResponseError):  # secret scope covers that secret only
        client.get_secret("unrelated")
    with pytest.raises(HttpResponseError) as err:  # listing needs readMetadata on the vault itself
        list(client.list_properties_of_secrets())
    assert "readMetadata/action" in err.value.error.message
    with pytest.raises(HttpResponseError):  # Secrets User cannot write
        client.set_secret("git-token", "overwrite")
    group_scope = vault.id.split("/providers/")[0]
    _grant(sandbox, group_scope, SECRETS_USER, principal, "user:group-scope")
    assert client.get_secret("unrelated").value == "x"
    assert {p.name for p in client.list_properties_of_secrets()} == {"git-token", "unrelated"}


def test_fresh_grant_waits_for_propagation(az, profile, sandbox):
    vault, officer = _officer_vault(az, sandbox, "kv-propagate")
    officer.set_secret("git-token", "t0ken")
    principal, mi = _identity(az, profile, sandbox, "id-late")
    client = mi.secrets(vault.properties.vault_uri)
    with sandbox.realism.hold("rbac_propagation", key=principal) as propagating:  # not there yet, however long
        _grant(sandbox, vault.id, SECRETS_USER, principal, "user:propagate", fresh=True)
        with pytest.raises(HttpResponseError) as err:
            client.get_secret("git-token")
        assert _inner(err) == "ForbiddenByRbac" and "please observe propagation time" in err.value.error.message
        assert propagating.wait_reached(timeout=10)
    assert client.get_secret("git-token").value == "t0ken"


def test_access_policy_vault_permissions_and_propagation(az, profile, sandbox):
    operator = sandbox.operator()["objectId"]
    policy = {"tenantId": sandbox.tenant_id, "objectId": operator, "permissions": {"secrets": ["get", "set"]}}
    vault = _vault(az, sandbox, "kv-ap", enableRbacAuthorization=False, accessPolicies=[policy])
    az.secrets(vault.properties.vault_uri).set_secret("git-token", "t0ken")
    principal, mi = _identity(az, profile, sandbox, "id-ap")
    client = mi.secrets(vault.properties.vault_uri)
    with pytest.raises(HttpResponseError) as err:
        client.get_secret("git-token")
    assert err.value.error.code == "Forbidden" and _inner(err) == "AccessDenied"
    assert f"oid={principal}" in err.value.error.message
    assert "does not have secrets get permission on key vault 'kv-ap;location=eastus'" in err.value.error.message
    with sandbox.realism.hold("rbac_propagation", key=principal) as propagating:
        az.keyvault.vaults.update_access_policy("rg-shared-secrets", "kv-ap", "add", {"properties": {
            "accessPolicies": [{"tenantId": sandbox.tenant_id, "objectId": principal,
                                "permissions": {"secrets": ["get"]}}]}})
        with pytest.raises(HttpResponseError) as err:  # the policy change has not propagated yet
            client.get_secret("git-token")
        assert _inner(err) == "AccessDenied" and propagating.wait_reached(timeout=10)
    assert client.get_secret("git-token").value == "t0ken"
    with pytest.raises(HttpResponseError) as err:  # get only: no list
        list(client.list_properties_of_secrets())
    assert "does not have secrets list permission" in err.value.error.message


def test_rbac_vault_ignores_access_policies(az, profile, sandbox):
    principal, mi = _identity(az, profile, sandbox, "id-ignored")
    policy = {"tenantId": sandbox.tenant_id, "objectId": principal, "permissions": {"secrets": ["get", "list"]}}
    vault = _vault(az, sandbox, "kv-rbac-policy", enableRbacAuthorization=True, accessPolicies=[policy])
    with pytest.raises(HttpResponseError) as err:
        mi.secrets(vault.properties.vault_uri).get_secret("anything")
    assert _inner(err) == "ForbiddenByRbac"


def test_soft_deleted_vault_data_plane_is_vault_not_found(az, sandbox):
    vault, client = _officer_vault(az, sandbox, "kv-gone")
    client.set_secret("kept", "value")
    az.keyvault.vaults.delete("rg-shared-secrets", "kv-gone")
    with pytest.raises(ResourceNotFoundError) as err:
        client.get_secret("kept")
    assert err.value.error.code == "VaultNotFound" and "has been soft deleted" in err.value.error.message
    az.keyvault.vaults.begin_create_or_update("rg-shared-secrets", "kv-gone", {
        "location": "eastus", "properties": {"tenantId": sandbox.tenant_id, "sku": {"family": "A", "name": "standard"},
                                             "createMode": "recover"}}).result()
    assert client.get_secret("kept").value == "value"  # secrets come back with the vault


def test_vaults_and_secrets_survive_a_restart_even_on_a_new_port(tmp_path):
    import socket

    from wizard.azure.clients import make_credential
    from wizard.azure.profiles import sandbox_profile
    from wizard.sandbox import running_sandbox

    blocker = socket.socket()
    try:
        for run in range(2):
            with running_sandbox(tmp_path / "persist") as sb:
                prof = sandbox_profile(sb.descriptor())
                az = AzureClients(prof, make_credential(prof), sb.subscription_ids[0])
                vault_uri = az.keyvault.vaults.get("rg-shared-secrets", "kv-legacy-ap").properties.vault_uri
                client = az.secrets(vault_uri)
                if run == 0:
                    client.set_secret("kept", "across-restarts")
                    old_uri = vault_uri
                else:
                    assert vault_uri != old_uri  # the old port was taken, so the vault moved and says so
                    assert client.get_secret("kept").value == "across-restarts"
            if run == 0:  # hold the vault's old port so the restarted sandbox must pick another
                blocker.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                blocker.bind(("127.0.0.1", int(old_uri.rstrip("/").rsplit(":", 1)[1])))
                blocker.listen(1)
    finally:
        blocker.close()
