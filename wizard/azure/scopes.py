"""Scopes of role assignments: resolve a spec's scope to a full id, tell what it points at, and read it.

A grant on a scope that does not exist fails late and obscurely in Azure (or lands on nothing), so the plan
reads every scope first. Reads go through the SDK client made for the type where there is one, else through
the generic resources API with the provider's API version.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from azure.core.exceptions import ResourceNotFoundError
from azure.mgmt.core.tools import is_valid_resource_id, parse_resource_id, resource_id

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
    names: tuple[str, ...] = ()
    """The names along the id, top-level resource first: ("acct", "default", "raw") for a blob container."""

    @property
    def top_type(self) -> str:
        """The type of the top-level resource: "microsoft.storage/storageaccounts" for one of its containers."""
        return "/".join(self.type.split("/")[:2])

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


ID_FORM = "/subscriptions/SUB[/resourceGroups/RG[/providers/NAMESPACE/TYPE/NAME[/TYPE/NAME...]]]"


def resolve(scope: str, subscription_id: str) -> str:
    """A full scope id: "/subscriptions/..." as given, "resourceGroups/..." under the setup's subscription."""
    scope = scope.strip().rstrip("/")
    if scope.lower().startswith("/subscriptions/"):
        return scope
    return f"{resource_id(subscription=subscription_id)}/{scope.lstrip('/')}"


def parse(scope_id: str) -> ScopeInfo:
    """What an ARM id points at; ValueError (saying the expected form) when it is not a well-formed id.

    parse_resource_id never fails: on a malformed id it returns {"name": id}, or the parts it matched before
    the junk. So the id is first checked by is_valid_resource_id, which rebuilds it from its parts.
    """
    rid = "/" + scope_id.strip().strip("/")
    if not is_valid_resource_id(rid):
        raise ValueError(f"'{scope_id}' is not an Azure resource id ({ID_FORM}).")
    parts = parse_resource_id(rid)
    subscription, group = str(parts["subscription"]), str(parts.get("resource_group", ""))
    if "namespace" not in parts:
        return ScopeInfo(rid, subscription, group)
    children = int(parts.get("last_child_num") or 0)
    if any(f"child_namespace_{n}" in parts for n in range(1, children + 1)):
        # An extension resource (.../providers/NS/TYPE/NAME/providers/NS2/...): its type is not the
        # namespace's, and nothing the wizard grants on is one.
        raise ValueError(f"'{scope_id}' is an extension resource (a second /providers/ in the id): give the id of "
                         "the resource itself.")
    types = [str(parts["type"])] + [str(parts[f"child_type_{n}"]) for n in range(1, children + 1)]
    names = [str(parts["name"])] + [str(parts[f"child_name_{n}"]) for n in range(1, children + 1)]
    return ScopeInfo(rid, subscription, group, "/".join([str(parts["namespace"]), *types]).lower(), names[-1],
                     tuple(names))


def parse_as(rid: str, resource_type: str, what: str) -> ScopeInfo:
    """An id that must point at one type of resource (user input: a clear message, never an IndexError)."""
    try:
        info = parse(rid)
    except ValueError:
        info = None
    if info is None or info.type != resource_type.lower():
        raise ValueError(f"'{rid}' is not {what}.")
    return info


def subscription_of(rid: str) -> str:
    """The subscription an ARM id is in (ValueError when it is not an id)."""
    return parse(rid).subscription


def name_of(rid: str) -> str:
    """The name of the resource an id points at, "" when it is not a resource id (a tenant-level role definition
    id such as /providers/Microsoft.Authorization/roleDefinitions/GUID is none)."""
    # On an id it cannot match, parse_resource_id gives {"name": id} and no resource_name.
    return str(parse_resource_id(rid.strip()).get("resource_name", ""))


def relative(rid: str) -> str:
    """The id relative to its subscription ("resourceGroups/..."), as a spec writes a scope; as given when it is
    not an id."""
    try:
        info = parse(rid)
    except ValueError:
        return rid
    prefix = resource_id(subscription=info.subscription)
    return info.id[len(prefix):].lstrip("/") or info.id


def subscription_scope(subscription_id: str) -> str:
    return resource_id(subscription=subscription_id)


def label_of(scope: str) -> str:
    """A short name of a spec scope ("container raw"), whatever its form; the scope itself when malformed."""
    if not scope.strip():
        return scope
    try:
        # The subscription only completes a relative scope: the label never shows it.
        return parse(resolve(scope, "-")).label
    except ValueError:
        return scope


def read(clients: Any, info: ScopeInfo) -> Any | None:
    """The resource (SDK model) at the scope, or None when it does not exist."""
    az = clients.for_subscription(info.subscription)
    try:
        if info.kind == "subscription":
            return az.subscriptions.subscriptions.get(info.subscription)
        if info.kind == "resource_group":
            return az.resources.resource_groups.get(info.resource_group)
        if info.type == "microsoft.keyvault/vaults":
            return az.keyvault.vaults.get(info.resource_group, info.name)
        if info.type == "microsoft.keyvault/vaults/secrets":
            return az.keyvault.secrets.get(info.resource_group, info.names[0], info.name)
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
            offered: list[str] = kind.api_versions or []
            stable = [v for v in offered if "preview" not in v]
            if stable or offered:
                return sorted(stable or offered, reverse=True)[0]
    raise ValueError(f"Azure does not list the resource type {resource_type}: check the scope's spelling.")


def vault_of(info: ScopeInfo) -> tuple[str, str, str] | None:
    """(subscription, resource group, vault name) when the scope is a vault or one of its secrets."""
    if info.type in ("microsoft.keyvault/vaults", "microsoft.keyvault/vaults/secrets"):
        return info.subscription, info.resource_group, info.names[0]
    return None
