"""Lists come in pages as Azure sends them, and the real SDK pagers (and mi-wizard's catalog) follow every page.

Key Vault: up to `maxresults` (1..25, default 25) per page, nextLink on the vault's own URL, `"nextLink": null` on
the last page. ARM: `$top` (or `maxresults`) per page, 1000 by default, nextLink on the ARM host with api-version,
$filter and the page size kept and a `$skiptoken`; no nextLink key on the last page.
"""

from __future__ import annotations

import json
import math
import ssl
import urllib.error
import urllib.request
from urllib.parse import parse_qs, urlsplit

import pytest
from azure.core.exceptions import HttpResponseError

from wizard import catalog
from wizard.azure.clients import make_credential
from wizard.sandbox.arm import RESOURCE, put, rg_id
from wizard.sandbox.paging import ARM_PAGE_SIZE
from wizard.sandbox.providers.resources import RG_TYPE
from wizard.session import Session

VAULT_SCOPE, ARM_SCOPE = "https://vault.azure.net/.default", "https://management.azure.com/.default"
IMAGE = {"imageReference": {"publisher": "canonical", "offer": "ubuntu-24_04-lts", "sku": "server", "version": "latest"},
         "nodeAgentSkuId": "batch.node.ubuntu 24.04"}


def _get(sandbox, url: str, token: str) -> tuple[int, dict]:
    ctx = ssl.create_default_context(cafile=str(sandbox.ca_path))
    req = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(req, context=ctx) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def _follow(sandbox, url: str, token: str) -> list[dict]:
    """Every page of a list, following nextLink as a client would; each must be a 200."""
    pages = []
    while url:
        status, body = _get(sandbox, url, token)
        assert status == 200, body
        pages.append(body)
        url = body.get("nextLink")
    return pages


def _policy_vault(az, sandbox, name: str):
    """An access-policy vault where the Owner operator may do everything with secrets."""
    props = {"tenantId": sandbox.tenant_id, "sku": {"family": "A", "name": "standard"}, "enableRbacAuthorization": False,
             "accessPolicies": [{"tenantId": sandbox.tenant_id, "objectId": sandbox.operator()["objectId"],
                                 "permissions": {"secrets": ["all"]}}]}
    vault = az.keyvault.vaults.begin_create_or_update("rg-shared-secrets", name, {
        "location": "eastus", "properties": props}).result()
    return vault.properties.vault_uri, az.secrets(vault.properties.vault_uri)


def test_sixty_secrets_listed_ten_to_a_page_through_the_sdk_and_raw(az, sandbox, credential):
    vault_uri, secrets = _policy_vault(az, sandbox, "kv-paging-sixty")
    names = {f"secret-{i:02d}" for i in range(60)}
    for name in sorted(names):
        secrets.set_secret(name, "value")
    pages = [[s.name for s in page] for page in secrets.list_properties_of_secrets(max_page_size=10).by_page()]
    assert [len(p) for p in pages] == [10] * 6
    assert {n for p in pages for n in p} == names
    # Without a size, Key Vault's own page size: 25.
    assert [len(list(p)) for p in secrets.list_properties_of_secrets().by_page()] == [25, 25, 10]

    token = credential.get_token(VAULT_SCOPE).token
    raw = _follow(sandbox, vault_uri + "secrets?api-version=7.5&maxresults=10", token)
    assert [len(p["value"]) for p in raw] == [10] * 6
    first = urlsplit(raw[0]["nextLink"])
    assert f"{first.scheme}://{first.netloc}/" == vault_uri and first.path == "/secrets"
    query = parse_qs(first.query)
    assert query["api-version"] == ["7.5"] and query["maxresults"] == ["10"] and query["$skiptoken"][0]
    assert "nextLink" in raw[-1] and raw[-1]["nextLink"] is None  # Key Vault sends the key, null, on the last page
    assert {p["id"].rsplit("/", 1)[-1] for page in raw for p in page["value"]} == names


def test_versions_and_deleted_secrets_follow_pages(az, sandbox):
    _, secrets = _policy_vault(az, sandbox, "kv-paging-versions")
    for i in range(30):
        secrets.set_secret("rotated", f"value-{i}")
    versions = [len(list(p)) for p in secrets.list_properties_of_secret_versions("rotated", max_page_size=10).by_page()]
    assert versions == [10, 10, 10]
    for i in range(12):
        secrets.set_secret(f"gone-{i:02d}", "value")
        secrets.begin_delete_secret(f"gone-{i:02d}").result()
    deleted = [[d.name for d in p] for p in secrets.list_deleted_secrets(max_page_size=5).by_page()]
    assert [len(p) for p in deleted] == [5, 5, 2]
    assert {n for p in deleted for n in p} == {f"gone-{i:02d}" for i in range(12)}


@pytest.mark.parametrize("query, message", [
    ("maxresults=26", "from 1 to 25"), ("maxresults=0", "from 1 to 25"), ("maxresults=ten", "from 1 to 25"),
    ("$skiptoken=not-a-token", "is not valid")])
def test_key_vault_refuses_bad_page_parameters(sandbox, credential, query, message):
    token = credential.get_token(VAULT_SCOPE).token
    status, body = _get(sandbox, sandbox.vault_url("kv-legacy-ap") + f"secrets?api-version=7.5&{query}", token)
    assert status == 400 and body["error"]["code"] == "BadParameter" and message in body["error"]["message"]


def test_arm_top_pages_with_a_skiptoken_link_and_no_key_on_the_last_page(az, sandbox, credential, sub_id):
    all_groups = {g.name for g in az.resources.resource_groups.list()}
    assert {g.name for g in az.resources.resource_groups.list(top=2)} == all_groups
    token = credential.get_token(ARM_SCOPE).token
    pages = _follow(sandbox, f"{sandbox.arm_url}/subscriptions/{sub_id}/resourcegroups?api-version=2025-04-01&$top=2",
                    token)
    sizes = [len(p["value"]) for p in pages]
    assert sizes[:-1] == [2] * (len(sizes) - 1) and 1 <= sizes[-1] <= 2 and sum(sizes) == len(all_groups)
    link = urlsplit(pages[0]["nextLink"])
    assert f"{link.scheme}://{link.netloc}" == sandbox.arm_url
    assert parse_qs(link.query)["api-version"] == ["2025-04-01"] and parse_qs(link.query)["$top"] == ["2"]
    assert "nextLink" not in pages[-1]  # ARM leaves the key out on the last page
    # The vault list's $top is a page size too, served with a nextLink the SDK follows.
    az.keyvault.vaults.begin_create_or_update("rg-shared-secrets", "kv-paging-second", {"location": "eastus", "properties": {
        "tenantId": sandbox.tenant_id, "sku": {"family": "A", "name": "standard"}}}).result()
    assert {v.name for v in az.keyvault.vaults.list_by_subscription(top=1)} == {"kv-legacy-ap", "kv-paging-second"}
    for bad in ("$top=0", "$top=many", "$skiptoken=bm90LW91cnM"):
        status, body = _get(sandbox, f"{sandbox.arm_url}/subscriptions/{sub_id}/resourcegroups?api-version=2025-04-01"
                                     f"&{bad}", token)
        assert status == 400 and body["error"]["code"] == "InvalidQueryParameterValue", bad


def test_every_list_mi_wizard_reads_follows_pages(az, sandbox, profile, sub_id):
    """With a page size of one, every list the screens and the engine read still gives everything."""
    session = Session(profile, make_credential(profile))
    # At least two of everything, so that a page of one is never the whole list.
    for name in ("kv-paging-listed", "kv-paging-dropped"):
        az.keyvault.vaults.begin_create_or_update("rg-shared-secrets", name, {"location": "eastus", "properties": {
            "tenantId": sandbox.tenant_id, "sku": {"family": "A", "name": "standard"}}}).result()
    az.keyvault.vaults.delete("rg-shared-secrets", "kv-paging-dropped")
    az.msi.user_assigned_identities.create_or_update("rg-prefect-demo", "id-paging-extra", {"location": "eastus"})
    az.aci.container_groups.begin_create_or_update("rg-prefect-demo", "cg-paging-extra", {
        "location": "eastus", "properties": {"osType": "Linux", "containers": [{"name": "main", "properties": {
            "image": "python:3.12", "command": ["sleep", "infinity"],
            "resources": {"requests": {"cpu": 1.0, "memoryInGB": 1.5}}}}]}}).result()
    az.batch.pool.create("rg-batch-jobs", "contosobatch", "pool-paging-extra", {"properties": {
        "vmSize": "STANDARD_D2S_V3", "scaleSettings": {"fixedScale": {"targetDedicatedNodes": 0}},
        "deploymentConfiguration": {"virtualMachineConfiguration": IMAGE}}})

    def everything() -> dict[str, list]:
        return {
            "subscriptions": sorted(s.id for s in (x for p in catalog.subscriptions(session) for x in p)),
            "groups": sorted(g.name for p in catalog.resource_groups(session, sub_id) for g in p),
            "identities": [i.id for i in catalog.identities(session, sub_id)],
            "vaults": [v.id for v in catalog.vaults(session, sub_id)],
            "containers": [c.id for c in catalog.container_groups(session, sub_id)],
            "batch": [(a.name, [p.name for p in a.pools]) for a in catalog.batch_accounts(session, sub_id)],
            "assignments": sorted(r.id for r in az.authorization.role_assignments.list_for_subscription()),
            "deleted_vaults": sorted(d.name for d in az.keyvault.vaults.list_deleted()),
        }

    whole = everything()
    assert all(len(v) >= 2 for k, v in whole.items() if k != "batch") and len(whole["batch"][0][1]) >= 2, whole
    calls = len(sandbox.calls)
    sandbox.arm_page_size = 1
    try:
        paged = everything()
        subscription_pages = [len(p) for p in catalog.subscriptions(session)]
    finally:
        del sandbox.arm_page_size
    assert paged == whole
    assert subscription_pages == [1] * len(whole["subscriptions"])
    # One page per item: every nextLink was followed, by the catalog's pagers and the SDK's.
    gets = [c.path.lower() for c in sandbox.arm_calls(calls) if c.method == "GET" and c.status == 200]
    sub = f"/subscriptions/{sub_id}".lower()
    assert gets.count("/subscriptions") == 2 * len(whole["subscriptions"])
    assert gets.count(sub + "/resourcegroups") == len(whole["groups"])
    assert gets.count(sub + "/providers/microsoft.managedidentity/userassignedidentities") == len(whole["identities"])
    assert gets.count(sub + "/providers/microsoft.keyvault/vaults") == len(whole["vaults"])
    assert gets.count(sub + "/providers/microsoft.authorization/roleassignments") == len(whole["assignments"])
    assert gets.count(sub + "/providers/microsoft.containerinstance/containergroups") == len(whole["containers"])
    assert gets.count(sub + "/providers/microsoft.keyvault/deletedvaults") == len(whole["deleted_vaults"])
    pools = sub + "/resourcegroups/rg-batch-jobs/providers/microsoft.batch/batchaccounts/contosobatch/pools"
    assert gets.count(pools) == len(whole["batch"][0][1])


def test_catalog_pages_through_thousands_of_resource_groups(sandbox, profile, sub_id, credential):
    seeded = {f"rg-many-{i:04d}" for i in range(2600)}
    with sandbox.store.transaction():  # straight into the store: 2600 PUTs over HTTPS would only be slower
        for name in seeded:
            put(sandbox, {"id": rg_id(sub_id, name), "name": name, "type": RG_TYPE, "location": "westeurope",
                          "tags": {}, "properties": {"provisioningState": "Succeeded"}})
    total = len([r for r in sandbox.store.list(RESOURCE, parent=f"/subscriptions/{sub_id}|{RG_TYPE}")])
    session = Session(profile, make_credential(profile))
    pages = [[g.name for g in page] for page in catalog.resource_groups(session, sub_id)]
    assert [len(p) for p in pages] == [ARM_PAGE_SIZE] * (total // ARM_PAGE_SIZE) + [total % ARM_PAGE_SIZE]
    assert len(pages) == math.ceil(total / ARM_PAGE_SIZE) == 3
    names = [n for p in pages for n in p]
    assert len(names) == len(set(names)) == total and seeded <= set(names)
    token = credential.get_token(ARM_SCOPE).token
    status, first = _get(sandbox, f"{sandbox.arm_url}/subscriptions/{sub_id}/resourcegroups?api-version=2025-04-01",
                         token)
    assert status == 200 and len(first["value"]) == ARM_PAGE_SIZE
    assert "$skiptoken" in parse_qs(urlsplit(first["nextLink"]).query)


def test_list_errors_keep_azure_shape_through_the_sdk(az):
    with pytest.raises(HttpResponseError) as err:
        list(az.resources.resource_groups.list(filter="location eq 'eastus'"))
    assert err.value.status_code == 400 and err.value.error.code == "InvalidFilterInQueryString"
