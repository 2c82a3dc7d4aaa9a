"""What azure.mgmt.core.tools does with the ids the wizard parses, and wizard.azure.scopes on top of it."""

from __future__ import annotations

import pytest
from azure.mgmt.core.tools import is_valid_resource_id, parse_resource_id

from wizard.azure import scopes

SUB = "11111111-2222-3333-4444-555555555555"
RG = f"/subscriptions/{SUB}/resourceGroups/rg-x"
SECRET = f"{RG}/providers/Microsoft.KeyVault/vaults/kv-x/secrets/git-token"
CONTAINER = f"{RG}/providers/Microsoft.Storage/storageAccounts/stx/blobServices/default/containers/raw"
POOL = f"{RG}/providers/Microsoft.Batch/batchAccounts/batchx/pools/pool-etl"
ASSIGNMENT = f"/subscriptions/{SUB}/providers/Microsoft.Authorization/roleAssignments/0f1e2d3c-0000-0000-0000-000000000001"
ASSIGNMENT_ON_VAULT = (f"{RG}/providers/Microsoft.KeyVault/vaults/kv-x/providers/Microsoft.Authorization/"
                       "roleAssignments/0f1e2d3c-0000-0000-0000-000000000002")
DEFINITION = f"/subscriptions/{SUB}/providers/Microsoft.Authorization/roleDefinitions/4633458b-17de-408a-b874-0445c86b69e6"


def test_parse_resource_id_on_the_ids_the_wizard_reads():
    secret = parse_resource_id(SECRET)
    assert (secret["subscription"], secret["resource_group"], secret["namespace"], secret["type"], secret["name"]) == (
        SUB, "rg-x", "Microsoft.KeyVault", "vaults", "kv-x")
    assert (secret["child_type_1"], secret["child_name_1"], secret["last_child_num"]) == ("secrets", "git-token", 1)
    assert (secret["resource_type"], secret["resource_name"]) == ("secrets", "git-token")
    container = parse_resource_id(CONTAINER)
    assert (container["name"], container["child_name_1"], container["child_type_2"], container["child_name_2"],
            container["last_child_num"]) == ("stx", "default", "containers", "raw", 2)
    pool = parse_resource_id(POOL)
    assert (pool["type"], pool["name"], pool["child_type_1"], pool["resource_name"]) == (
        "batchAccounts", "batchx", "pools", "pool-etl")
    # A subscription-level assignment has no group; one on a resource is a child with its own namespace.
    assignment = parse_resource_id(ASSIGNMENT)
    assert "resource_group" not in assignment and assignment["resource_name"].endswith("0001")
    on_vault = parse_resource_id(ASSIGNMENT_ON_VAULT)
    assert on_vault["child_namespace_1"] == "Microsoft.Authorization"
    assert (on_vault["resource_namespace"], on_vault["resource_type"]) == ("Microsoft.KeyVault", "roleAssignments")


def test_parse_resource_id_never_fails_so_validity_is_checked_apart():
    # Malformed ids come back as {"name": id}, or the parts matched before the junk: never an error.
    assert parse_resource_id("resourceGroups/rg/providers/x/y/z") == {"name": "resourceGroups/rg/providers/x/y/z"}
    assert parse_resource_id(f"/subscriptions/{SUB}/nonsense/x") == {"subscription": SUB}
    assert parse_resource_id("/providers/Microsoft.Authorization/roleDefinitions/g") == {
        "name": "/providers/Microsoft.Authorization/roleDefinitions/g"}
    for good in (SECRET, CONTAINER, POOL, ASSIGNMENT, f"/subscriptions/{SUB}", RG, RG.replace("resourceGroups",
                                                                                          "resourcegroups")):
        assert is_valid_resource_id(good), good
    for bad in (f"/subscriptions/{SUB}/nonsense/x", f"{RG}/providers/Microsoft.KeyVault/vaults", f"{RG}/",
                "/subscriptions//resourceGroups/rg", ""):
        assert not is_valid_resource_id(bad), bad


def test_scopes_parse_gives_the_type_the_names_and_the_vault_of_a_secret():
    secret = scopes.parse(SECRET)
    assert (secret.kind, secret.type, secret.name, secret.names) == (
        "resource", "microsoft.keyvault/vaults/secrets", "git-token", ("kv-x", "git-token"))
    assert scopes.vault_of(secret) == (SUB, "rg-x", "kv-x") and secret.label == "secret git-token"
    container = scopes.parse(CONTAINER)
    assert container.type == "microsoft.storage/storageaccounts/blobservices/containers"
    assert container.top_type == "microsoft.storage/storageaccounts" and container.names[0] == "stx"
    assert scopes.parse(RG).kind == "resource_group" and scopes.parse(f"/subscriptions/{SUB}/").kind == "subscription"
    assert scopes.parse(POOL).label == "pool pool-etl"


@pytest.mark.parametrize("bad", ["", "nonsense", f"/subscriptions/{SUB}/nonsense/x",
                                 f"{RG}/providers/Microsoft.KeyVault/vaults", ASSIGNMENT_ON_VAULT])
def test_malformed_ids_give_a_message_not_an_index_error(bad):
    with pytest.raises(ValueError, match="resource"):
        scopes.parse(bad)


def test_the_helpers_other_modules_use():
    assert scopes.resolve("resourceGroups/rg-x", SUB) == RG
    assert scopes.relative(CONTAINER) == CONTAINER.split(f"/subscriptions/{SUB}/")[1]
    assert scopes.subscription_of(POOL) == SUB and scopes.subscription_scope(SUB) == f"/subscriptions/{SUB}"
    assert scopes.name_of(DEFINITION) == "4633458b-17de-408a-b874-0445c86b69e6"
    assert scopes.name_of("/providers/Microsoft.Authorization/roleDefinitions/g") == ""
    assert scopes.label_of("resourceGroups/rg-x/providers/Microsoft.ContainerRegistry/registries/acr") == "registry acr"
    assert scopes.label_of("resourceGroups/rg-x") == "resource group rg-x"
    assert scopes.label_of("not/an/id") == "not/an/id"
    with pytest.raises(ValueError, match="not an identity"):
        scopes.parse_as(POOL, "Microsoft.ManagedIdentity/userAssignedIdentities", "an identity")
