"""Key Vault management plane through the real KeyVaultManagementClient: create (LRO), reads, lists, update,
soft delete, recovery, purge, name rules and availability, access policies, and the demo seed."""

from __future__ import annotations

import json
import ssl
import urllib.error
import urllib.request

import pytest
from azure.core.exceptions import HttpResponseError, ResourceExistsError, ResourceNotFoundError

from wizard.sandbox.providers.keyvault_deleted import soft_deleted_vault
from wizard.sandbox.providers.keyvault_mgmt import take_vault_name_elsewhere

DELETED_STATE = ("A vault with the same name already exists in deleted state. You need to either recover or purge "
                 "existing key vault. Follow this link https://go.microsoft.com/fwlink/?linkid=2149745 for more "
                 "information on soft delete.")


def _raw(sandbox, method, path, body=None, token=None):
    """A raw HTTPS call trusting the sandbox CA, to see status codes and headers the SDK hides."""
    ctx = ssl.create_default_context(cafile=str(sandbox.ca_path))
    req = urllib.request.Request(sandbox.arm_url + path, method=method, data=body,
                                 headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, context=ctx) as resp:
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), err.read()


def _params(sandbox, location="eastus", **props):
    return {"location": location, "properties": {"tenantId": sandbox.tenant_id,
                                                 "sku": {"family": "A", "name": "standard"}, **props}}


def _create(az, sandbox, rg, name, **props):
    return az.keyvault.vaults.begin_create_or_update(rg, name, _params(sandbox, **props)).result()


def test_create_defaults_to_rbac_and_is_found_by_every_read(az, sandbox):
    vault = _create(az, sandbox, "rg-prefect-demo", "kv-new-one")
    props = vault.properties
    assert props.provisioning_state == "Succeeded"
    assert props.enable_rbac_authorization is True  # omitted + api-version 2026-05-15 -> RBAC
    assert props.enable_soft_delete is True and props.soft_delete_retention_in_days == 90
    assert props.vault_uri == sandbox.vault_url("kv-new-one")
    vaults = az.keyvault.vaults
    assert vaults.get("rg-prefect-demo", "kv-new-one").id == vault.id
    assert [v.name for v in vaults.list_by_resource_group("rg-prefect-demo")] == ["kv-new-one"]
    assert {"kv-new-one", "kv-legacy-ap"} <= {v.name for v in vaults.list_by_subscription()}
    listed = {r.name: r for r in vaults.list()}  # GET /resources?$filter=resourceType eq '...' (2015-11-01)
    assert listed["kv-new-one"].type == "Microsoft.KeyVault/vaults" and listed["kv-new-one"].location == "eastus"
    assert all(r.type == "Microsoft.KeyVault/vaults" for r in listed.values())
    with pytest.raises(ResourceNotFoundError) as err:
        vaults.get("rg-prefect-demo", "kv-missing")
    assert err.value.error.code == "ResourceNotFound"


def test_create_is_long_running_registering_dns_then_succeeded(az, sandbox):
    mark = len(sandbox.calls)
    with sandbox.realism.hold("lro:keyvault_create"):  # in progress for as long as the test looks
        poller = az.keyvault.vaults.begin_create_or_update("rg-prefect-demo", "kv-slow", _params(sandbox))
        during = az.keyvault.vaults.get("rg-prefect-demo", "kv-slow")
        assert during.properties.provisioning_state == "RegisteringDns"
    assert poller.result().properties.provisioning_state == "Succeeded"
    assert [c.status for c in sandbox.calls[mark:] if c.method == "PUT"] == [201]
    assert [c.status for c in sandbox.calls[mark:] if "/operationResults/" in c.path][-1] == 200


def test_create_answers_201_with_location_then_202_until_done(sandbox, credential, sub_id):
    """The wire shape the SDK's Location polling relies on: 201 + Location + Retry-After: 1, then 202s, then 200."""
    token = credential.get_token("https://management.azure.com/.default").token
    path = (f"/subscriptions/{sub_id}/resourceGroups/rg-prefect-demo/providers/Microsoft.KeyVault/vaults/kv-raw"
            "?api-version=2026-05-15")
    body = json.dumps(_params(sandbox)).encode()
    with sandbox.realism.hold("lro:keyvault_create"):
        status, headers, _ = _raw(sandbox, "PUT", path, body, token)
        assert status == 201 and headers["Retry-After"] == "1"
        status_path = headers["Location"][len(sandbox.arm_url):]
        for _ in range(2):
            status, headers, _ = _raw(sandbox, "GET", status_path, token=token)
            assert status == 202 and headers["Retry-After"] == "1"
    status, _, payload = _raw(sandbox, "GET", status_path, token=token)  # the first poll after the release
    assert status == 200 and json.loads(payload)["properties"]["provisioningState"] == "Succeeded"


def test_older_api_version_defaults_to_access_policies(sandbox, profile, credential, sub_id):
    from azure.mgmt.keyvault import KeyVaultManagementClient
    old = KeyVaultManagementClient(credential, sub_id, api_version="2025-05-01", **profile.client_kwargs())
    vault = old.vaults.begin_create_or_update("rg-prefect-demo", "kv-old-api", _params(sandbox)).result()
    assert vault.properties.enable_rbac_authorization is False


def test_update_tags_and_purge_protection_cannot_be_turned_off(az, sandbox):
    _create(az, sandbox, "rg-platform", "kv-patch", location="northeurope")
    vaults = az.keyvault.vaults
    updated = vaults.update("rg-platform", "kv-patch", {"tags": {"team": "platform"},
                                                       "properties": {"enablePurgeProtection": True}})
    assert updated.tags == {"team": "platform"} and updated.properties.enable_purge_protection is True
    with pytest.raises(HttpResponseError) as err:
        vaults.update("rg-platform", "kv-patch", {"properties": {"enablePurgeProtection": False}})
    assert err.value.error.code == "BadRequest" and "irreversible" in err.value.error.message
    # A full PUT without enableRbacAuthorization keeps the existing model (the default is for creates only).
    vaults.update("rg-platform", "kv-patch", {"properties": {"enableRbacAuthorization": False}})
    again = _create(az, sandbox, "rg-platform", "kv-patch", location="northeurope")
    assert again.properties.enable_rbac_authorization is False and again.tags == {}


def test_invalid_names_are_refused(az, sandbox):
    for name in ("ab", "1vault", "vault-", "kv--double", "k" * 25, "kv_under"):
        with pytest.raises(HttpResponseError) as err:
            az.keyvault.vaults.begin_create_or_update("rg-prefect-demo", name, _params(sandbox))
        assert err.value.status_code == 400 and err.value.error.code == "VaultNameNotValid", name
        result = az.keyvault.vaults.check_name_availability({"name": name, "type": "Microsoft.KeyVault/vaults"})
        assert (result.name_available, result.reason) == (False, "AccountNameInvalid"), name


def test_names_are_global_across_subscriptions_and_tenants(az, sandbox):
    _create(az, sandbox, "rg-prefect-demo", "kv-global")
    prod = az.for_subscription(sandbox.subscription_ids[1])
    for rg, name in (("rg-prod-secrets", "kv-global"), ("rg-prod-secrets", "kv-contoso")):
        with pytest.raises(ResourceExistsError) as err:
            prod.keyvault.vaults.begin_create_or_update(rg, name, _params(sandbox, location="eastus2"))
        assert err.value.error.code == "VaultAlreadyExists"
        assert err.value.error.message.startswith(f"The vault name '{name}' is already in use. Vault names are "
                                                  "globally unique")
    # Same name in another group of the same subscription is taken as well.
    with pytest.raises(ResourceExistsError):
        az.keyvault.vaults.begin_create_or_update("rg-platform", "kv-global", _params(sandbox, location="northeurope"))


def test_check_name_availability(az, sandbox):
    check = az.keyvault.vaults.check_name_availability
    assert check({"name": "kv-free-name", "type": "Microsoft.KeyVault/vaults"}).name_available is True
    taken = check({"name": "kv-legacy-ap", "type": "Microsoft.KeyVault/vaults"})
    assert (taken.name_available, taken.reason) == (False, "AlreadyExists")
    assert taken.message == "The vault name 'kv-legacy-ap' is already in use."
    take_vault_name_elsewhere(sandbox, "kv-somebody-else")
    assert check({"name": "kv-somebody-else", "type": "Microsoft.KeyVault/vaults"}).reason == "AlreadyExists"
    deleted = check({"name": "kv-prefect-old", "type": "Microsoft.KeyVault/vaults"})
    assert (deleted.name_available, deleted.reason) == (False, "AlreadyExists")
    assert "deleted state" in deleted.message


def test_soft_delete_conflict_and_recover_keep_the_vault(az, sandbox):
    vaults = az.keyvault.vaults
    created = _create(az, sandbox, "rg-prefect-demo", "kv-recover-me", softDeleteRetentionInDays=7)
    vaults.delete("rg-prefect-demo", "kv-recover-me")
    vaults.delete("rg-prefect-demo", "kv-recover-me")  # already gone: 204, no error
    with pytest.raises(ResourceNotFoundError):
        vaults.get("rg-prefect-demo", "kv-recover-me")
    deleted = vaults.get_deleted("kv-recover-me", "eastus")
    assert deleted.properties.vault_id == created.id and deleted.properties.location == "eastus"
    assert (deleted.properties.scheduled_purge_date - deleted.properties.deletion_date).days == 7
    assert deleted.properties.purge_protection_enabled is False
    assert "kv-recover-me" in {d.name for d in vaults.list_deleted()}
    with pytest.raises(ResourceExistsError) as err:
        vaults.begin_create_or_update("rg-prefect-demo", "kv-recover-me", _params(sandbox))
    assert (err.value.error.code, err.value.error.message) == ("ConflictError", DELETED_STATE)
    with pytest.raises(ResourceNotFoundError):
        vaults.get_deleted("kv-recover-me", "westus2")
    recovered = vaults.begin_create_or_update("rg-prefect-demo", "kv-recover-me",
                                              _params(sandbox, createMode="recover")).result()
    assert recovered.id == created.id and recovered.properties.soft_delete_retention_in_days == 7
    with pytest.raises(ResourceNotFoundError) as err:
        vaults.get_deleted("kv-recover-me", "eastus")
    assert err.value.error.code == "DeletedVaultNotFound"


def test_purge_is_long_running_and_frees_the_name(az, sandbox):
    vaults = az.keyvault.vaults
    _create(az, sandbox, "rg-prefect-demo", "kv-purge-me")
    vaults.delete("rg-prefect-demo", "kv-purge-me")
    mark = len(sandbox.calls)
    with sandbox.realism.hold("lro:keyvault_purge") as purging:
        poller = vaults.begin_purge_deleted("kv-purge-me", "eastus")
        assert purging.wait_reached(timeout=30, times=2) and not poller.done()
        assert vaults.get_deleted("kv-purge-me", "eastus").name == "kv-purge-me"  # still held while purging
    poller.result()
    assert [c.status for c in sandbox.calls[mark:] if c.method == "POST"] == [202]
    with pytest.raises(ResourceNotFoundError):
        vaults.get_deleted("kv-purge-me", "eastus")
    assert vaults.check_name_availability({"name": "kv-purge-me", "type": "Microsoft.KeyVault/vaults"}).name_available
    _create(az, sandbox, "rg-prefect-demo", "kv-purge-me")


def test_purge_protection_refuses_purge(az, sandbox, sub_id):
    soft_deleted_vault(sandbox, sub_id, "kv-protected-old", "eastus", purge_protection=True)
    assert az.keyvault.vaults.get_deleted("kv-protected-old", "eastus").properties.purge_protection_enabled is True
    with pytest.raises(HttpResponseError) as err:
        az.keyvault.vaults.begin_purge_deleted("kv-protected-old", "eastus")
    assert err.value.error.code == "InvalidOperation"
    assert err.value.error.message == "Operation 'DeletedVaultPurge' is not allowed."


def test_property_rules(az, sandbox):
    for props, words in (({"softDeleteRetentionInDays": 5}, "between 7 and 90"),
                         ({"enableSoftDelete": False}, "cannot be disabled"),
                         ({"enablePurgeProtection": False}, "irreversible")):
        with pytest.raises(HttpResponseError) as err:
            az.keyvault.vaults.begin_create_or_update("rg-prefect-demo", "kv-rules", _params(sandbox, **props))
        assert err.value.error.code == "BadRequest" and words in err.value.error.message
    with pytest.raises(ResourceNotFoundError) as err:
        az.keyvault.vaults.begin_create_or_update("rg-nowhere", "kv-rules", _params(sandbox))
    assert err.value.error.code == "ResourceGroupNotFound"


def test_access_policies_add_replace_remove(az, sandbox):
    _create(az, sandbox, "rg-shared-secrets", "kv-policies", enableRbacAuthorization=False)
    vaults, oid = az.keyvault.vaults, "11111111-2222-3333-4444-555555555555"

    def policy(*perms):
        return {"properties": {"accessPolicies": [{"tenantId": sandbox.tenant_id, "objectId": oid,
                                                   "permissions": {"secrets": list(perms)}}]}}

    def secrets_of(vault):
        return [p.permissions.secrets for p in vault.properties.access_policies if p.object_id == oid]

    answer = vaults.update_access_policy("rg-shared-secrets", "kv-policies", "add", policy("get"))
    assert answer.type == "Microsoft.KeyVault/vaults/accessPolicies" and answer.id.endswith("/accessPolicies/")
    vaults.update_access_policy("rg-shared-secrets", "kv-policies", "add", policy("list"))
    assert secrets_of(vaults.get("rg-shared-secrets", "kv-policies")) == [["get", "list"]]
    vaults.update_access_policy("rg-shared-secrets", "kv-policies", "replace", policy("set"))
    assert secrets_of(vaults.get("rg-shared-secrets", "kv-policies")) == [["set"]]
    vaults.update_access_policy("rg-shared-secrets", "kv-policies", "remove", policy("set"))
    assert secrets_of(vaults.get("rg-shared-secrets", "kv-policies")) == []
    with pytest.raises(HttpResponseError) as err:
        bad = policy("get")
        bad["properties"]["accessPolicies"][0]["tenantId"] = "00000000-0000-0000-0000-000000000000"
        vaults.update_access_policy("rg-shared-secrets", "kv-policies", "add", bad)
    assert err.value.error.code == "BadRequest"


def test_deleting_a_resource_group_soft_deletes_its_vaults(az, sandbox):
    az.resources.resource_groups.create_or_update("rg-doomed", {"location": "westeurope"})
    _create(az, sandbox, "rg-doomed", "kv-in-doomed-rg", location="westeurope")
    az.resources.resource_groups.begin_delete("rg-doomed").result()
    deleted = az.keyvault.vaults.get_deleted("kv-in-doomed-rg", "westeurope")
    assert deleted.properties.vault_id.endswith("/resourceGroups/rg-doomed/providers/Microsoft.KeyVault/vaults/"
                                                "kv-in-doomed-rg")


def test_demo_seed_vaults(az, sandbox):
    vaults = az.keyvault.vaults
    old = vaults.get_deleted("kv-prefect-old", "eastus")
    assert old.properties.vault_id.split("/")[2] == sandbox.subscription_ids[0]
    legacy = vaults.get("rg-shared-secrets", "kv-legacy-ap")
    assert legacy.properties.enable_rbac_authorization is False
    owner = sandbox.operator("operator")["objectId"]
    assert [sorted(p.permissions.secrets) for p in legacy.properties.access_policies if p.object_id == owner] == \
        [["delete", "get", "list", "set"]]
    secret = az.secrets(legacy.properties.vault_uri).get_secret("db-password")
    assert secret.value and secret.properties.enabled
    with pytest.raises(ResourceExistsError):
        vaults.begin_create_or_update("rg-prefect-demo", "kv-contoso", _params(sandbox))
