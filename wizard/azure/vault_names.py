"""Is this Key Vault name usable? One answer for the plan (wizard.steps.vault) and the UI (wizard.catalog).

Vault names are global across Azure (they become NAME.vault.azure.net), so a name can be in use here (adopt
it), free, held by a vault this subscription soft-deleted (recover or purge it), used by a vault in another
group of this subscription, or used by someone else entirely. Azure's own availability check tells only
"free or not"; the reads after it tell why not. Each read is made at most once, and only when the answer so
far leaves the question open.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from azure.core.exceptions import ResourceNotFoundError
from azure.mgmt.core.tools import parse_resource_id

from .names import suggest_vault_names, validate_vault_name

VaultNameKind = Literal["exists_here", "available", "soft_deleted", "elsewhere_in_subscription", "taken", "invalid"]

VAULT_TYPE = "Microsoft.KeyVault/vaults"
NAME_INVALID = "AccountNameInvalid"
"""The availability check's reason for a name that breaks the naming rules (not "someone has it")."""


@dataclass(frozen=True)
class VaultNameStatus:
    name: str
    kind: VaultNameKind
    message: str = ""
    """Why the name is not free: Azure's availability message, or the naming rule it breaks."""
    vault: Any = None
    """exists_here, elsewhere_in_subscription: the vault (SDK model) of this subscription that has the name."""
    vault_id: str = ""
    vault_group: str = ""
    deleted_location: str = ""
    """soft_deleted: where the deleted vault was (a recovery or a purge happens there)."""
    deleted_on: datetime | None = None
    purge_after: datetime | None = None
    """soft_deleted: Azure keeps the vault, and its name, until then."""
    purge_protection: bool = False
    suggestions: tuple[str, ...] = ()
    """taken, invalid: valid names close to this one (vault names are global: a free one is a guess)."""

    @property
    def usable(self) -> bool:
        """A vault of this name can be had without a choice to make: created, or adopted from its group."""
        return self.kind in ("available", "exists_here")


def vault_name_status(clients: Any, subscription_id: str, group: str, name: str, location: str, *,
                      read_here: Callable[[], Any] | None = None) -> VaultNameStatus:
    """What `name` is to this subscription, asking Azure only what the previous answers leave open.

    `group`: the resource group the vault goes in, looked in first ("" to skip: it does not exist yet, or the
    caller does not know it). `location`: where a new vault would go, where a deletion is looked for first
    ("" to list every deleted vault at once). `read_here`: how to read the vault in `group` (None when absent)
    when the caller keeps its own read-once cache, as a plan does; by default a plain GET.
    """
    problem = validate_vault_name(name)
    if problem:
        return _unusable(name, "invalid", problem)
    vaults = _for(clients, subscription_id).keyvault.vaults
    if group:
        here = read_here() if read_here is not None else _none_if_missing(lambda: vaults.get(group, name))
        if here is not None:
            return _existing(name, "exists_here", here)
    result = vaults.check_name_availability({"name": name, "type": VAULT_TYPE})
    message = result.message or ""
    if result.name_available:
        return VaultNameStatus(name, "available", message)
    if (result.reason or "") == NAME_INVALID:  # Azure's rules are stricter than ours: nobody holds the name
        return _unusable(name, "invalid", message)
    deleted = _find_deleted(vaults, name, location)
    if deleted is not None:
        return _soft_deleted(name, message, deleted)
    elsewhere = next((v for v in vaults.list_by_subscription() if v.name.lower() == name.lower()), None)
    if elsewhere is not None:
        return _existing(name, "elsewhere_in_subscription", elsewhere, message)
    return _unusable(name, "taken", message)


def _for(clients: Any, subscription_id: str) -> Any:
    # Clients made for another subscription would be new SDK clients: re-use the caller's when they fit.
    if (getattr(clients, "subscription_id", None) or "").lower() == subscription_id.lower():
        return clients
    return clients.for_subscription(subscription_id)


def _none_if_missing(call: Callable[[], Any]) -> Any:
    try:
        return call()
    except ResourceNotFoundError:
        return None


def _find_deleted(vaults: Any, name: str, location: str) -> Any:
    # One GET where it most likely is (the new vault's location); else the subscription's whole list, since
    # the old vault may have lived in any region.
    if location:
        deleted = _none_if_missing(lambda: vaults.get_deleted(name, location))
        if deleted is not None:
            return deleted
    return next((d for d in vaults.list_deleted() if d.name.lower() == name.lower()), None)


def _existing(name: str, kind: VaultNameKind, vault: Any, message: str = "") -> VaultNameStatus:
    group = str(parse_resource_id(vault.id).get("resource_group", ""))
    return VaultNameStatus(name, kind, message, vault=vault, vault_id=vault.id, vault_group=group)


def _soft_deleted(name: str, message: str, deleted: Any) -> VaultNameStatus:
    props = deleted.properties
    return VaultNameStatus(name, "soft_deleted", message, deleted_location=props.location or "",
                           deleted_on=props.deletion_date, purge_after=props.scheduled_purge_date,
                           purge_protection=bool(props.purge_protection_enabled))


def _unusable(name: str, kind: VaultNameKind, message: str) -> VaultNameStatus:
    return VaultNameStatus(name, kind, message, suggestions=tuple(suggest_vault_names(name)))
