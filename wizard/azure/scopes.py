"""Scopes of role assignments: resolve a spec's scope to a full id, tell what it points at, and read it.

A grant on a scope that does not exist fails late and obscurely in Azure (or lands on nothing), so the plan
reads every scope first. Reads go through the SDK client made for the type where there is one, else through
the generic resources API with the provider's API version.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from azure.core.exceptions import ResourceNotFoundError

# API versions for the generic read (GET {id}?api-version=...) of the types grants usually target.
API_VERSIONS = {
    "microsoft.storage/storageaccounts": "2023-05-01",
    "microsoft.storage/storageaccounts/blobservices": "2023-05-01",
    "microsoft.storage/storageaccounts/blobservices/containers": "2023-05-01",
    "microsoft.containerregistry/registries": "2023-07-01",
    "microsoft.containerservice/managedclusters": "2024-09-01",
    "microsoft.batch/batchaccounts": "2025-06-01",
    "microsoft.batch/batchaccounts/pools": "2025-06-01",
    "microsoft.managedidentity/userassignedidentities": "2024-11-30",
    "microsoft.containerinstance/containergroups": "2023-05-01",
}


@dataclass(frozen=True)
class ScopeInfo:
    id: str
    subscription: str
    resource_group: str = ""
    type: str = ""
    """The ARM resource type, lower-case ("" for a subscription or resource group)."""
    name: str = ""

    @property
    def kind(self) -> str:
        if self.type:
            return "resource"
        return "resource_group" if self.resource_group else "subscription"

    @property
    def label(self) -> str:
        """A short human name: "container raw", "registry acrcontoso", "resource group rg-x"."""
        if self.kind == "subscription":
            return f"subscription {self.subscription}"
        if self.kind == "resource_group":
            return f"resource group {self.resource_group}"
        words = {"containers": "container", "registries": "registry", "vaults": "vault", "secrets": "secret",
                 "storageaccounts": "storage account", "pools": "pool", "managedclusters": "cluster"}
        last = self.type.rsplit("/", 1)[-1]
        return f"{words.get(last, last)} {self.name}"


def resolve(scope: str, subscription_id: str) -> str:
    """A full scope id: "/subscriptions/..." as given, "resourceGroups/..." under the setup's subscription."""
    scope = scope.strip().rstrip("/")
    if scope.lower().startswith("/subscriptions/"):
        return scope
    return f"/subscriptions/{subscription_id}/{scope.lstrip('/')}"


def parse(scope_id: str) -> ScopeInfo:
    parts = scope_id.strip("/").split("/")
    if len(parts) < 2 or parts[0].lower() != "subscriptions":
        raise ValueError(f"'{scope_id}' is not an Azure resource id (/subscriptions/...).")
    sub = parts[1]
    if len(parts) == 2:
        return ScopeInfo(scope_id, sub)
    if parts[2].lower() != "resourcegroups" or len(parts) < 4:
        raise ValueError(f"'{scope_id}' is not a subscription, resource group or resource id.")
    rg = parts[3]
    if len(parts) == 4:
        return ScopeInfo(scope_id, sub, rg)
    if len(parts) < 8 or parts[4].lower() != "providers" or len(parts) % 2:
        raise ValueError(f"'{scope_id}' is not a resource id (.../providers/NAMESPACE/TYPE/NAME[/TYPE/NAME...]).")
    namespace, rest = parts[5], parts[6:]
    types = [rest[i] for i in range(0, len(rest), 2)]
    return ScopeInfo(scope_id, sub, rg, "/".join([namespace, *types]).lower(), rest[-1])


def read(clients: Any, info: ScopeInfo) -> Any | None:
    """The resource (SDK model) at the scope, or None when it does not exist."""
    az = clients.for_subscription(info.subscription)
    try:
        if info.kind == "subscription":
            return az.subscriptions.subscriptions.get(info.subscription)
        if info.kind == "resource_group":
            return az.resources.resource_groups.get(info.resource_group)
        parts = info.id.strip("/").split("/")
        if info.type == "microsoft.keyvault/vaults":
            return az.keyvault.vaults.get(info.resource_group, info.name)
        if info.type == "microsoft.keyvault/vaults/secrets":
            return az.keyvault.secrets.get(info.resource_group, parts[7], info.name)
        return az.resources.resources.get_by_id(info.id, api_version=api_version(az, info.type))
    except ResourceNotFoundError:
        return None


def api_version(clients: Any, resource_type: str) -> str:
    known = API_VERSIONS.get(resource_type.lower())
    if known:
        return known
    # Any other type: ask its provider which API versions it serves, newest stable first.
    namespace, _, rest = resource_type.partition("/")
    provider = clients.resources.providers.get(namespace)
    for kind in provider.resource_types or []:
        if kind.resource_type.lower() == rest.lower():
            stable = [v for v in kind.api_versions or [] if "preview" not in v]
            if stable or kind.api_versions:
                return sorted(stable or kind.api_versions, reverse=True)[0]
    raise ValueError(f"Azure does not list the resource type {resource_type}: check the scope's spelling.")


def vault_of(info: ScopeInfo) -> tuple[str, str, str] | None:
    """(subscription, resource group, vault name) when the scope is a vault or one of its secrets."""
    if info.type in ("microsoft.keyvault/vaults", "microsoft.keyvault/vaults/secrets"):
        return info.subscription, info.resource_group, info.id.strip("/").split("/")[7]
    return None
