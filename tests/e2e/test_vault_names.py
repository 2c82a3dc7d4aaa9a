"""wizard.azure.vault_names through the real SDK against the sandbox: every kind of answer, each read made at most
once and only when needed. The demo seed holds kv-legacy-ap (live, rg-shared-secrets), kv-prefect-old
(soft-deleted in eastus) and kv-contoso (taken in another tenant)."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from wizard import catalog
from wizard.azure.vault_names import VaultNameStatus, vault_name_status
from wizard.sandbox.providers.keyvault_deleted import soft_deleted_vault

KV = "/providers/Microsoft.KeyVault/"


def status(sandbox: Any, az: Any, group: str, name: str, location: str = "eastus",
           **kw: Any) -> tuple[VaultNameStatus, list[str]]:
    """The answer, and the Key Vault requests it made ("GET .../vaults/NAME"), checked to be made once each."""
    mark = len(sandbox.calls)
    answer = vault_name_status(az, sandbox.subscription_ids[0], group, name, location, **kw)
    asked = [f"{c.method} {c.path.split(KV, 1)[1]}" for c in sandbox.arm_calls(mark) if KV in c.path]
    assert not [call for call, n in Counter(asked).items() if n > 1], asked
    return answer, asked


def test_a_vault_in_the_group_is_found_with_one_read(sandbox, az):
    found, asked = status(sandbox, az, "rg-shared-secrets", "kv-legacy-ap")
    assert (found.kind, found.vault_group, found.vault.name, found.usable) == (
        "exists_here", "rg-shared-secrets", "kv-legacy-ap", True)
    assert found.vault_id.lower().endswith("/resourcegroups/rg-shared-secrets/providers/microsoft.keyvault/vaults/"
                                           "kv-legacy-ap")
    assert asked == ["GET vaults/kv-legacy-ap"]


def test_a_free_name_is_available_after_the_group_read_and_the_check(sandbox, az):
    free, asked = status(sandbox, az, "rg-prefect-demo", "kv-free-name-1")
    assert (free.kind, free.usable, free.suggestions) == ("available", True, ())
    assert asked == ["GET vaults/kv-free-name-1", "POST checkNameAvailability"]


def test_a_soft_deleted_name_gives_its_location_dates_and_purge_protection(sandbox, az):
    deleted, asked = status(sandbox, az, "rg-prefect-demo", "kv-prefect-old", "eastus")
    assert (deleted.kind, deleted.deleted_location, deleted.purge_protection, deleted.usable) == (
        "soft_deleted", "eastus", False, False)
    assert deleted.deleted_on is not None and deleted.purge_after is not None
    assert deleted.deleted_on < deleted.purge_after
    # Found where the new vault would go: the subscription's whole list is not needed.
    assert asked == ["GET vaults/kv-prefect-old", "POST checkNameAvailability",
                     "GET locations/eastus/deletedVaults/kv-prefect-old"]


def test_a_name_deleted_in_another_region_is_found_in_the_list(sandbox, az):
    soft_deleted_vault(sandbox, sandbox.subscription_ids[0], "kv-locked", "westeurope", purge_protection=True)
    deleted, asked = status(sandbox, az, "rg-prefect-demo", "kv-locked", "eastus")
    assert (deleted.kind, deleted.deleted_location, deleted.purge_protection) == ("soft_deleted", "westeurope", True)
    assert asked[-2:] == ["GET locations/eastus/deletedVaults/kv-locked", "GET deletedVaults"]


def test_a_vault_in_another_group_of_the_subscription(sandbox, az):
    elsewhere, asked = status(sandbox, az, "rg-prefect-demo", "kv-legacy-ap")
    assert (elsewhere.kind, elsewhere.vault_group, elsewhere.usable) == (
        "elsewhere_in_subscription", "rg-shared-secrets", False)
    assert asked[-1] == "GET vaults" and "already in use" in elsewhere.message


def test_a_name_taken_by_someone_else_comes_with_free_suggestions(sandbox, az):
    taken, asked = status(sandbox, az, "rg-prefect-demo", "kv-contoso")
    assert taken.kind == "taken" and "already in use" in taken.message
    assert len(taken.suggestions) == 3 and all(s.startswith("kv-contoso-") for s in taken.suggestions)
    assert asked == ["GET vaults/kv-contoso", "POST checkNameAvailability",
                     "GET locations/eastus/deletedVaults/kv-contoso", "GET deletedVaults", "GET vaults"]
    assert all(vault_name_status(az, sandbox.subscription_ids[0], "", s, "eastus").kind == "available"
               for s in taken.suggestions)


@pytest.mark.parametrize("name", ["kv--x", "1kv", "kv_underscore", "k"])
def test_an_invalid_name_is_refused_without_asking_azure(sandbox, az, name):
    invalid, asked = status(sandbox, az, "rg-prefect-demo", name)
    assert invalid.kind == "invalid" and "Vault names are 3-24 characters" in invalid.message
    assert asked == [] and invalid.suggestions


def test_without_a_group_or_location_the_group_read_and_the_regional_get_are_skipped(sandbox, az):
    here, asked = status(sandbox, az, "", "kv-legacy-ap", "")
    assert here.kind == "elsewhere_in_subscription" and "GET vaults/kv-legacy-ap" not in asked
    deleted, asked = status(sandbox, az, "", "kv-prefect-old", "")
    assert deleted.kind == "soft_deleted" and asked == ["POST checkNameAvailability", "GET deletedVaults"]


def test_the_plan_reads_the_vault_in_its_group_through_its_own_cache(sandbox, az):
    seen = az.keyvault.vaults.get("rg-shared-secrets", "kv-legacy-ap")
    cached, asked = status(sandbox, az, "rg-shared-secrets", "kv-legacy-ap", read_here=lambda: seen)
    assert cached.kind == "exists_here" and cached.vault is seen and asked == []
    _, asked = status(sandbox, az, "rg-shared-secrets", "kv-new-here", read_here=lambda: None)
    assert asked == ["POST checkNameAvailability"]


def test_clients_of_another_subscription_are_not_used_for_this_one(sandbox, az):
    prod = sandbox.subscription_ids[1]
    # kv-prefect-old was deleted in the first subscription: to the second it is just taken.
    answer = vault_name_status(az, prod, "", "kv-prefect-old", "eastus")
    assert answer.kind == "taken"


def test_the_ui_catalog_tells_the_same_story(sandbox, profile):
    from wizard.azure.clients import make_credential
    from wizard.session import Session
    session = Session(profile, make_credential(profile))
    sub = sandbox.subscription_ids[0]
    adopt = catalog.check_vault_name(session, sub, "kv-legacy-ap", group="rg-prefect-demo", location="eastus")
    assert adopt.reason == "exists_here" and adopt.existing.resource_group == "rg-shared-secrets"
    assert catalog.check_vault_name(session, sub, "kv--x").reason == "invalid"
    deleted = catalog.check_vault_name(session, sub, "kv-prefect-old", location="westus2")
    assert deleted.reason == "soft_deleted" and deleted.deleted["location"] == "eastus"
