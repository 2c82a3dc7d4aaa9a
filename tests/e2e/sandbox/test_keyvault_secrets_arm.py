"""The ARM secret write (Microsoft.KeyVault/vaults/secrets PUT, Secrets_CreateOrUpdate) through the real
KeyVaultManagementClient: 201 for a new secret and 200 for a new version, the Secret resource without its value,
the workload reading the written value through the data plane, the control-plane action Owner and Contributor
hold (a Reader is refused), access-policy vaults alike, the soft-deleted name's 409, and bad bodies' 400s.

Shapes: Azure/azure-rest-api-specs Secret.tsp and examples/2026-05-15/createSecret.json; AZURE_FACTS section 7.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from azure.core.exceptions import HttpResponseError, ResourceExistsError, ResourceNotFoundError

from wizard.azure.clients import AzureClients, make_credential
from wizard.sandbox.seed import assign

from .test_keyvault_data import IssuedCredential

RG = "rg-shared-secrets"
SECRETS_USER = "4633458b-17de-408a-b874-0445c86b69e6"
SECRETS_OFFICER = "b86a8fe4-44ce-4948-aee5-eccb2c155cd7"
READER = "acdd72a7-3385-48ef-bd42-f606fba81ae7"
CONFLICT = ("Secret git-token is currently in a deleted but recoverable state, and its name cannot be reused; in this "
            "state, the secret can only be recovered or purged.")


def _vault(az, sandbox, name: str, **props: Any):
    params = {"location": "eastus", "properties": {"tenantId": sandbox.tenant_id,
                                                   "sku": {"family": "A", "name": "standard"}, **props}}
    return az.keyvault.vaults.begin_create_or_update(RG, name, params).result()


def _put(az, vault: str, name: str, value: str, **extra: Any) -> tuple[int, dict[str, Any], Any]:
    """PUT through the SDK; (status, the raw JSON body as Azure sent it, the SDK's Secret model)."""
    body: dict[str, Any] = {"properties": {"value": value, **extra.pop("properties", {})}, **extra}
    return az.keyvault.secrets.create_or_update(
        RG, vault, name, body,
        cls=lambda resp, model, _: (resp.http_response.status_code, json.loads(resp.http_response.text()), model))


def _workload(az, profile, sandbox, vault_id: str, name: str) -> AzureClients:
    """A managed identity holding Key Vault Secrets User on the vault (a settled grant), signed in as itself."""
    identity = az.msi.user_assigned_identities.create_or_update("rg-prefect-demo", name, {"location": "eastus"})
    assign(sandbox, vault_id, SECRETS_USER, identity.principal_id, f"user:{name}")
    return AzureClients(profile, IssuedCredential(sandbox, identity.principal_id, identity.client_id),
                        az.subscription_id)


def test_put_creates_then_adds_versions_and_never_answers_the_value(az, sandbox, sub_id):
    vault = _vault(az, sandbox, "kv-arm-put")  # RBAC, and the Owner operator holds no data-plane role on it
    status, body, secret = _put(az, "kv-arm-put", "git-token", "ghp_first", tags={"created-by": "mi-wizard"},
                                properties={"contentType": "text/plain"})
    assert status == 201
    assert set(body) == {"id", "name", "type", "location", "tags", "properties"}
    assert (body["id"], body["name"], body["type"], body["location"], body["tags"]) == (
        f"/subscriptions/{sub_id}/resourceGroups/{RG}/providers/Microsoft.KeyVault/vaults/kv-arm-put/secrets/git-token",
        "git-token", "Microsoft.KeyVault/vaults/secrets", "eastus", {"created-by": "mi-wizard"})
    props = body["properties"]
    assert "value" not in props and "ghp_first" not in json.dumps(body)
    assert props["contentType"] == "text/plain"
    assert props["attributes"]["enabled"] is True and props["attributes"]["created"] > 0
    base = vault.properties.vault_uri.rstrip("/")
    assert props["secretUri"] == f"{base}/secrets/git-token"
    first = props["secretUriWithVersion"]
    assert re.fullmatch(rf"{re.escape(base)}/secrets/git-token/[0-9a-f]{{32}}", first)
    assert secret.properties.value is None and secret.properties.secret_uri_with_version == first

    status, body, _ = _put(az, "kv-arm-put", "git-token", "ghp_second")
    assert status == 200 and "ghp_second" not in json.dumps(body)
    second = body["properties"]["secretUriWithVersion"]
    assert second != first and second.startswith(f"{base}/secrets/git-token/")
    latest = az.keyvault.secrets.get(RG, "kv-arm-put", "git-token")
    assert latest.properties.secret_uri_with_version == second and latest.properties.value is None
    assert [c.operation for c in sandbox.arm_calls() if c.method == "PUT" and "/secrets/" in c.path] == [
        "keyvault_secret_arm_put", "keyvault_secret_arm_put"]


def test_the_workload_reads_the_written_value_through_the_data_plane(az, profile, sandbox):
    vault = _vault(az, sandbox, "kv-arm-read")
    _, body, _ = _put(az, "kv-arm-read", "db-password", "s3cret-value", tags={"app": "prefect"},
                      properties={"contentType": "password"})
    workload = _workload(az, profile, sandbox, vault.id, "id-arm-reader")
    read = workload.secrets(vault.properties.vault_uri).get_secret("db-password")
    assert (read.value, read.properties.content_type, read.properties.tags) == ("s3cret-value", "password",
                                                                                 {"app": "prefect"})
    assert read.id == body["properties"]["secretUriWithVersion"]


def test_contributor_may_write_a_reader_may_not(az, contributor_az, profile, sandbox, sub_id):
    _vault(az, sandbox, "kv-arm-roles")
    status, _, _ = _put(contributor_az, "kv-arm-roles", "api-key", "from-contributor")
    assert status == 201
    reader = sandbox.add_operator("reader", "operator with Reader")
    assign(sandbox, f"/subscriptions/{sub_id}", READER, reader["objectId"], f"reader:{sub_id}")
    prof = profile.with_operator(reader["clientId"], reader["clientSecret"])
    reader_az = AzureClients(prof, make_credential(prof), sub_id)
    assert reader_az.keyvault.secrets.get(RG, "kv-arm-roles", "api-key").name == "api-key"  # */read: metadata only
    with pytest.raises(HttpResponseError) as err:
        _put(reader_az, "kv-arm-roles", "api-key", "from-reader")
    assert err.value.status_code == 403 and err.value.error.code == "AuthorizationFailed"
    assert "'Microsoft.KeyVault/vaults/secrets/write'" in err.value.error.message


def test_access_policy_vault_needs_no_policy_for_the_operator(az, profile, sandbox):
    vault = _vault(az, sandbox, "kv-arm-ap", enableRbacAuthorization=False, accessPolicies=[])
    with pytest.raises(HttpResponseError) as err:  # no access policy: the data plane refuses the operator
        az.secrets(vault.properties.vault_uri).set_secret("git-token", "x")
    assert (err.value.error.innererror or {}).get("code") == "AccessDenied"
    status, _, _ = _put(az, "kv-arm-ap", "git-token", "t0ken")
    assert status == 201
    identity = az.msi.user_assigned_identities.create_or_update("rg-prefect-demo", "id-arm-ap", {"location": "eastus"})
    az.keyvault.vaults.update_access_policy(RG, "kv-arm-ap", "add", {"properties": {"accessPolicies": [
        {"tenantId": sandbox.tenant_id, "objectId": identity.principal_id, "permissions": {"secrets": ["get"]}}]}})
    workload = AzureClients(profile, IssuedCredential(sandbox, identity.principal_id, identity.client_id),
                            az.subscription_id)
    assert workload.secrets(vault.properties.vault_uri).get_secret("git-token").value == "t0ken"


def test_a_soft_deleted_secret_name_is_a_conflict(az, sandbox):
    vault = _vault(az, sandbox, "kv-arm-deleted")
    assign(sandbox, vault.id, SECRETS_OFFICER, sandbox.operator()["objectId"], "officer:kv-arm-deleted")
    _put(az, "kv-arm-deleted", "git-token", "one")
    az.secrets(vault.properties.vault_uri).begin_delete_secret("git-token").result()
    with pytest.raises(ResourceExistsError) as err:
        _put(az, "kv-arm-deleted", "git-token", "two")
    assert (err.value.status_code, err.value.error.code, err.value.error.message) == (409, "Conflict", CONFLICT)
    with pytest.raises(ResourceNotFoundError):  # ARM does not show a deleted secret either
        az.keyvault.secrets.get(RG, "kv-arm-deleted", "git-token")


@pytest.mark.parametrize(("name", "body", "message"), [
    ("ok", {"properties": {}}, "The secret value is required and must be a string."),
    ("ok", {"properties": {"value": 42}}, "The secret value is required and must be a string."),
    ("ok", {"tags": {"a": "b"}}, "The 'properties' object with the secret's 'value' is required."),
    ("ok", {"properties": {"value": "x" * 25601}}, "Secret is beyond the maximum permitted length of 25600"),
    ("ok", {"properties": {"value": "x", "attributes": {"enabled": "yes"}}}, "'properties.attributes'"),
    ("bad_name", {"properties": {"value": "x"}}, "The request URI contains an invalid name: bad_name."),
])
def test_bad_bodies_and_names_answer_400(az, sandbox, name, body, message):
    _vault(az, sandbox, "kv-arm-bad")
    with pytest.raises(HttpResponseError) as err:
        az.keyvault.secrets.create_or_update(RG, "kv-arm-bad", name, body)
    assert err.value.status_code == 400 and err.value.error.code == "BadRequest" and message in err.value.error.message
    assert _put(az, "kv-arm-bad", "biggest", "x" * 25600)[0] == 201  # exactly 25 KB is allowed


def test_missing_vault_and_injected_faults(az, sandbox):
    with pytest.raises(ResourceNotFoundError) as err:
        _put(az, "kv-arm-nowhere", "git-token", "x")
    assert err.value.error.code == "ResourceNotFound"
    _vault(az, sandbox, "kv-arm-faults")
    sandbox.realism.add_fault("keyvault_secret_arm_put", "503")  # the operation name faults and latency use
    since = len(sandbox.calls)
    assert _put(az, "kv-arm-faults", "git-token", "x")[0] == 201  # the SDK retries the 503 (it has Retry-After)
    assert [c.status for c in sandbox.calls[since:] if c.operation == "keyvault_secret_arm_put"] == [503, 201]
