"""Storage accounts, blob containers and container registries in the sandbox, over HTTPS through the real SDK
(azure-mgmt-resource's generic client: get_by_id with any api-version, begin_create_or_update_by_id, send_request
for lists and name checks), and role assignments on a storage container and on a registry ("grants on other
resources" for a platform's identity)."""

from __future__ import annotations

import uuid

import pytest
from azure.core.exceptions import HttpResponseError, ResourceExistsError, ResourceNotFoundError
from azure.core.rest import HttpRequest

from wizard.azure.clients import AzureClients, make_credential
from wizard.sandbox import authz
from wizard.sandbox.providers.storage import take_storage_name_elsewhere
from wizard.sandbox.seed import assign

STORAGE_API, ACR_API, RG, LOC = "2025-01-01", "2023-07-01", "rg-platform", "northeurope"
BLOB_CONTRIBUTOR = "ba92f5b4-2d11-453d-a403-e96b0029c9fe"
ACR_PULL = "7f951dda-4ed3-4680-a7ca-43fe172d538d"
RBAC_ADMIN = "f58310d9-a9f6-439a-9e8d-f62e7b41a168"
BLOB_READ = "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read"


def _account_id(sub_id: str, name: str, rg: str = RG) -> str:
    return f"/subscriptions/{sub_id}/resourceGroups/{rg}/providers/Microsoft.Storage/storageAccounts/{name}"


def _container_id(sub_id: str, account: str, container: str, rg: str = RG) -> str:
    return f"{_account_id(sub_id, account, rg)}/blobServices/default/containers/{container}"


def _registry_id(sub_id: str, name: str, rg: str = RG) -> str:
    return f"/subscriptions/{sub_id}/resourceGroups/{rg}/providers/Microsoft.ContainerRegistry/registries/{name}"


def _put(az, resource_id: str, body: dict, api_version: str):
    return az.resources.resources.begin_create_or_update_by_id(resource_id, body, api_version=api_version).result()


def _account_body(**extra) -> dict:
    return {"location": LOC, "sku": {"name": "Standard_LRS"}, "kind": "StorageV2", **extra}


def _send(az, method: str, path: str, api_version: str, json=None):
    return az.resources.send_request(HttpRequest(method, path, params={"api-version": api_version}, json=json))


def _last_status(sandbox, method: str, fragment: str) -> int:
    return [c.status for c in sandbox.arm_calls() if c.method == method and fragment in c.path][-1]


def _code(err) -> str:
    return err.value.error.code


def _identity(az, name: str):
    return az.msi.user_assigned_identities.create_or_update(RG, name, {"location": LOC})


# ---- storage accounts ----------------------------------------------------------------------------------------
def test_storage_account_create_is_an_lro_then_get_by_id_with_any_api_version(sandbox, az, sub_id):
    rid = _account_id(sub_id, "stdatalake01")
    with sandbox.realism.hold("lro:storage_create"):  # in progress for as long as the test looks
        poller = az.resources.resources.begin_create_or_update_by_id(rid, _account_body(tags={"team": "data"}),
                                                                     api_version=STORAGE_API)
        assert _last_status(sandbox, "PUT", "stdatalake01") == 202
        creating = az.resources.resources.get_by_id(rid, api_version="2023-05-01")
        assert creating.properties["provisioningState"] == "Creating"
    account = poller.result()
    assert (account.name, account.kind, account.sku.name, account.tags) == ("stdatalake01", "StorageV2",
                                                                            "Standard_LRS", {"team": "data"})
    props = account.properties
    assert props["provisioningState"] == "Succeeded" and props["primaryLocation"] == LOC
    assert props["primaryEndpoints"]["blob"] == "https://stdatalake01.blob.core.windows.net/"
    assert props["primaryEndpoints"]["dfs"] == "https://stdatalake01.dfs.core.windows.net/"
    assert (props["accessTier"], props["minimumTlsVersion"], props["allowBlobPublicAccess"]) == ("Hot", "TLS1_2",
                                                                                                  False)
    polls = [c for c in sandbox.arm_calls() if "/asyncoperations/" in c.path]
    assert polls and polls[-1].status == 200
    for version in ("2019-06-01", "2023-01-01", "2099-01-01"):
        assert az.resources.resources.get_by_id(rid, api_version=version).id == rid
    # A PUT on an existing account is a synchronous update.
    updated = _put(az, rid, _account_body(tags={"team": "platform"}), STORAGE_API)
    assert updated.tags == {"team": "platform"} and _last_status(sandbox, "PUT", "stdatalake01") == 200
    by_group = _send(az, "GET", f"/subscriptions/{sub_id}/resourceGroups/{RG}/providers/Microsoft.Storage/"
                     "storageAccounts", STORAGE_API).json()
    by_sub = _send(az, "GET", f"/subscriptions/{sub_id}/providers/Microsoft.Storage/storageAccounts",
                   STORAGE_API).json()
    assert {a["name"] for a in by_group["value"]} == {"stcontosodata", "stdatalake01"} and "nextLink" not in by_group
    assert {"stcontosodata", "stdatalake01"} <= {a["name"] for a in by_sub["value"]}
    generic = az.resources.resources.list(filter="resourceType eq 'Microsoft.Storage/storageAccounts'")
    assert "stdatalake01" in {r.name for r in generic}


def test_storage_account_names_skus_and_missing_accounts(sandbox, az, sub_id):
    for bad in ("Upper1", "ab", "has-hyphen", "a" * 25):
        with pytest.raises(HttpResponseError) as err:
            _put(az, _account_id(sub_id, bad), _account_body(), STORAGE_API)
        assert _code(err) == "AccountNameInvalid" and "between 3 and 24 characters" in err.value.error.message
    with pytest.raises(ResourceExistsError) as err:  # names are global: the demo account lives in rg-platform
        _put(az, _account_id(sub_id, "stcontosodata", "rg-prefect-demo"), _account_body(location="eastus"),
             STORAGE_API)
    assert _code(err) == "StorageAccountAlreadyTaken"
    take_storage_name_elsewhere(sandbox, "sttakenelsewhere")
    with pytest.raises(ResourceExistsError) as err:
        _put(az, _account_id(sub_id, "sttakenelsewhere"), _account_body(), STORAGE_API)
    assert _code(err) == "StorageAccountAlreadyTaken"
    with pytest.raises(HttpResponseError) as err:
        _put(az, _account_id(sub_id, "stbadsku"), _account_body(sku={"name": "Gold_LRS"}), STORAGE_API)
    assert _code(err) == "InvalidRequestPropertyValue"
    with pytest.raises(ResourceExistsError) as err:
        _put(az, _account_id(sub_id, "stcontosodata"), _account_body(location="eastus"), STORAGE_API)
    assert _code(err) == "InvalidResourceLocation"
    with pytest.raises(ResourceNotFoundError) as err:
        az.resources.resources.get_by_id(_account_id(sub_id, "stmissing"), api_version=STORAGE_API)
    assert _code(err) == "ResourceNotFound"
    checks = {name: _send(az, "POST", f"/subscriptions/{sub_id}/providers/Microsoft.Storage/checkNameAvailability",
                          STORAGE_API, {"name": name, "type": "Microsoft.Storage/storageAccounts"}).json()
              for name in ("stcontosodata", "Bad_Name", "stfreename01")}
    assert (checks["stcontosodata"]["nameAvailable"], checks["stcontosodata"]["reason"]) == (False, "AlreadyExists")
    assert checks["Bad_Name"]["reason"] == "AccountNameInvalid"
    assert checks["stfreename01"] == {"nameAvailable": True}


# ---- blob containers -------------------------------------------------------------------------------------------
def test_blob_containers_create_get_list_and_their_rules(sandbox, az, sub_id):
    rid = _container_id(sub_id, "stcontosodata", "curated")
    created = _put(az, rid, {"properties": {"publicAccess": "None", "metadata": {"owner": "data"}}}, STORAGE_API)
    assert (created.name, created.type) == ("curated", "Microsoft.Storage/storageAccounts/blobServices/containers")
    assert created.properties["publicAccess"] == "None" and created.properties["metadata"] == {"owner": "data"}
    assert _last_status(sandbox, "PUT", "/containers/curated") == 201
    _put(az, rid, {"properties": {}}, STORAGE_API)
    assert _last_status(sandbox, "PUT", "/containers/curated") == 200
    assert az.resources.resources.get_by_id(rid, api_version="2021-09-01").id == rid
    listed = _send(az, "GET", f"{_account_id(sub_id, 'stcontosodata')}/blobServices/default/containers",
                   STORAGE_API).json()
    assert {c["name"] for c in listed["value"]} == {"raw", "curated"}
    for bad, message in (("Raw", "invalid characters"), ("a--b", "invalid characters"), ("-ab", "invalid characters"),
                         ("ab", "length")):
        with pytest.raises(HttpResponseError) as err:
            _put(az, _container_id(sub_id, "stcontosodata", bad), {}, STORAGE_API)
        assert _code(err) == "ContainerOperationFailure" and message in err.value.error.message
    with pytest.raises(ResourceExistsError) as err:
        _put(az, _container_id(sub_id, "stcontosodata", "open"), {"properties": {"publicAccess": "Blob"}}, STORAGE_API)
    assert "Public access is not permitted" in err.value.error.message
    with pytest.raises(ResourceNotFoundError) as err:
        az.resources.resources.get_by_id(_container_id(sub_id, "stcontosodata", "nothere"), api_version=STORAGE_API)
    assert _code(err) == "ContainerNotFound"
    with pytest.raises(ResourceNotFoundError) as err:
        _put(az, _container_id(sub_id, "stnoaccount", "raw"), {}, STORAGE_API)
    assert _code(err) == "ResourceNotFound"
    with sandbox.realism.hold("lro:storage_create"):
        slow = az.resources.resources.begin_create_or_update_by_id(_account_id(sub_id, "stslow01"), _account_body(),
                                                                   api_version=STORAGE_API)
        with pytest.raises(ResourceExistsError) as err:
            _put(az, _container_id(sub_id, "stslow01", "raw"), {}, STORAGE_API)
        assert _code(err) == "StorageAccountIsNotProvisioned"
    slow.result()


def test_role_assignment_at_a_container_scope_reaches_only_that_container(sandbox, az, sub_id):
    identity = _identity(az, "userflyterole-data")
    raw = _container_id(sub_id, "stcontosodata", "raw")
    _put(az, _container_id(sub_id, "stcontosodata", "other"), {}, STORAGE_API)
    role_id = f"/subscriptions/{sub_id}/providers/Microsoft.Authorization/roleDefinitions/{BLOB_CONTRIBUTOR}"
    name = str(uuid.uuid4())
    created = az.authorization.role_assignments.create(raw, name, {"properties": {
        "roleDefinitionId": role_id, "principalId": identity.principal_id, "principalType": "ServicePrincipal"}})
    assert created.scope == raw and created.id == f"{raw}/providers/Microsoft.Authorization/roleAssignments/{name}"
    at_scope = az.authorization.role_assignments.list_for_scope(raw, filter="atScope()")
    assert name in {ra.name for ra in at_scope}
    assert az.authorization.role_assignments.get(raw, name).role_definition_id == role_id
    assert authz.permitted(sandbox.store, identity.principal_id, BLOB_READ, raw + "/blobs/2025/file.csv", data=True)
    assert not authz.permitted(sandbox.store, identity.principal_id, BLOB_READ,
                               _container_id(sub_id, "stcontosodata", "other") + "/blobs/x", data=True)
    with pytest.raises(ResourceNotFoundError):
        az.authorization.role_assignments.create(_container_id(sub_id, "stabsent", "raw"), str(uuid.uuid4()), {
            "properties": {"roleDefinitionId": role_id, "principalId": identity.principal_id,
                           "principalType": "ServicePrincipal"}})


# ---- container registries ----------------------------------------------------------------------------------------
def test_registry_create_is_an_lro_with_login_server_then_get_and_list(sandbox, az, sub_id):
    rid = _registry_id(sub_id, "acrPlatform01")
    with sandbox.realism.hold("lro:registry_create"):  # in progress for as long as the test looks
        poller = az.resources.resources.begin_create_or_update_by_id(
            rid, {"location": LOC, "sku": {"name": "standard"}, "properties": {"adminUserEnabled": False}},
            api_version=ACR_API)
        assert _last_status(sandbox, "PUT", "acrPlatform01") == 201
        assert az.resources.resources.get_by_id(rid, api_version=ACR_API).properties["provisioningState"] == \
            "Creating"
    registry = poller.result()
    assert (registry.type, registry.sku.name) == ("Microsoft.ContainerRegistry/registries", "Standard")
    assert registry.properties["loginServer"] == "acrplatform01.azurecr.io"
    assert registry.properties["provisioningState"] == "Succeeded"
    assert any("/operationStatuses/registries-" in c.path for c in sandbox.arm_calls())
    assert az.resources.resources.get_by_id(rid, api_version="2025-04-01").properties["adminUserEnabled"] is False
    _put(az, rid, {"location": LOC, "sku": {"name": "Premium"}}, ACR_API)
    assert _last_status(sandbox, "PUT", "acrPlatform01") == 200
    by_group = _send(az, "GET", f"/subscriptions/{sub_id}/resourceGroups/{RG}/providers/Microsoft.ContainerRegistry/"
                     "registries", ACR_API).json()
    by_sub = _send(az, "GET", f"/subscriptions/{sub_id}/providers/Microsoft.ContainerRegistry/registries",
                   ACR_API).json()
    assert {r["name"] for r in by_group["value"]} == {"acrcontoso", "acrPlatform01"}
    assert {r["sku"]["name"] for r in by_sub["value"] if r["name"] == "acrPlatform01"} == {"Premium"}


def test_registry_names_skus_and_missing_registries(az, sub_id):
    for bad in ("acr", "acr-with-hyphen", "a" * 51):
        with pytest.raises(HttpResponseError) as err:
            _put(az, _registry_id(sub_id, bad), {"location": LOC, "sku": {"name": "Basic"}}, ACR_API)
        assert _code(err) == "InvalidResourceName"
    with pytest.raises(ResourceExistsError) as err:  # the login server name is global
        _put(az, _registry_id(sub_id, "ACRContoso", "rg-prefect-demo"), {"location": "eastus",
                                                                         "sku": {"name": "Basic"}}, ACR_API)
    assert _code(err) == "AlreadyInUse" and "acrcontoso.azurecr.io is already in use" in err.value.error.message
    with pytest.raises(HttpResponseError) as err:
        _put(az, _registry_id(sub_id, "acrnosku01"), {"location": LOC}, ACR_API)
    assert _code(err) == "InvalidParameter"
    with pytest.raises(ResourceNotFoundError) as err:
        az.resources.resources.get_by_id(_registry_id(sub_id, "acrmissing"), api_version=ACR_API)
    assert _code(err) == "ResourceNotFound"
    check = f"/subscriptions/{sub_id}/providers/Microsoft.ContainerRegistry/checkNameAvailability"
    taken = _send(az, "POST", check, ACR_API, {"name": "acrcontoso", "type": "Microsoft.ContainerRegistry/registries"})
    free = _send(az, "POST", check, ACR_API, {"name": "acrfree01", "type": "Microsoft.ContainerRegistry/registries"})
    assert (taken.json()["nameAvailable"], taken.json()["reason"]) == (False, "AlreadyExists")
    assert free.json() == {"nameAvailable": True}


def test_acr_pull_at_a_registry_scope_and_who_may_grant_it(sandbox, profile, az, contributor_az, sub_id):
    identity = _identity(az, "aks-kubelet-like")
    registry = _registry_id(sub_id, "acrcontoso")
    role_id = f"/subscriptions/{sub_id}/providers/Microsoft.Authorization/roleDefinitions/{ACR_PULL}"
    body = {"properties": {"roleDefinitionId": role_id, "principalId": identity.principal_id,
                           "principalType": "ServicePrincipal"}}
    with pytest.raises(HttpResponseError) as err:  # Contributor may not assign roles
        contributor_az.authorization.role_assignments.create(registry, str(uuid.uuid4()), body)
    assert _code(err) == "AuthorizationFailed"
    # Role Based Access Control Administrator, held on the registry alone, may.
    admin = sandbox.add_operator("rbac-admin", "operator with RBAC Administrator on acrcontoso")
    assign(sandbox, registry, RBAC_ADMIN, admin["objectId"], "rbac-admin:acrcontoso")
    admin_profile = profile.with_operator(admin["clientId"], admin["clientSecret"])
    admin_az = AzureClients(admin_profile, make_credential(admin_profile), sub_id)
    created = admin_az.authorization.role_assignments.create(registry, str(uuid.uuid4()), body)
    assert created.scope == registry
    assert authz.permitted(sandbox.store, identity.principal_id, "Microsoft.ContainerRegistry/registries/pull/read",
                           registry)
    with pytest.raises(HttpResponseError) as err:  # ...but nowhere else
        admin_az.authorization.role_assignments.create(_account_id(sub_id, "stcontosodata"), str(uuid.uuid4()), body)
    assert _code(err) == "AuthorizationFailed"
