"""The read queries the wizard's screens ask, answered as plain data (no SDK models, no Textual).

Screens call these from thread workers: every function here may block on Azure. Lists come page by page
(``Iterator[list[...]]``) so a screen can show the first page while the next one loads. Nothing here writes
to Azure or to the state: choices become a spec, and the engine does the writing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

T = TypeVar("T")

COMMON_LOCATIONS = ("eastus", "eastus2", "westus2", "westus3", "centralus", "northeurope", "westeurope",
                    "uksouth", "swedencentral", "germanywestcentral", "francecentral", "japaneast",
                    "australiaeast", "southeastasia", "canadacentral", "brazilsouth", "centralindia")
"""Shown while the subscription's own list loads, or when it cannot be read."""


@dataclass(frozen=True)
class Subscription:
    id: str
    name: str
    state: str = "Enabled"
    tenant_id: str = ""


@dataclass(frozen=True)
class Group:
    name: str
    location: str


@dataclass(frozen=True)
class Identity:
    name: str
    resource_group: str
    location: str
    client_id: str
    principal_id: str
    id: str


@dataclass(frozen=True)
class Vault:
    name: str
    resource_group: str
    location: str
    access_model: str
    """rbac or access_policy"""
    id: str


@dataclass(frozen=True)
class ContainerGroup:
    name: str
    resource_group: str
    location: str
    identities: int
    image: str
    id: str


@dataclass
class VaultNameCheck:
    name: str
    reason: str
    """ok | invalid | taken | soft_deleted | exists_here"""
    detail: str
    suggestions: list[str] = field(default_factory=list)
    existing: Vault | None = None
    """exists_here: the vault of this subscription that has the name (to adopt it)."""
    deleted: dict[str, Any] | None = None
    """soft_deleted: {"location", "deleted", "purge_after", "purge_protection"}."""

    @property
    def available(self) -> bool:
        return self.reason == "ok"


def _pages(pager: Any, convert: Callable[[Any], T]) -> Iterator[list[T]]:
    for page in pager.by_page():
        yield [convert(item) for item in page]


def _group_of(resource_id: str) -> str:
    """The resource group in an id Azure returned ("" when there is none)."""
    from .azure.scopes import parse  # loads the SDK: not at import (the UI imports this before signing in)
    try:
        return parse(resource_id).resource_group
    except ValueError:
        return ""


def _for(session: Any, subscription: str) -> Any:
    """The clients of a subscription given by id or, as a spec file may, by display name."""
    resolve = getattr(session, "resolve_subscription", None)
    return session.for_subscription(resolve(subscription) if resolve is not None else subscription)


def subscriptions(session: Any) -> Iterator[list[Subscription]]:
    return _pages(session.clients.subscriptions.subscriptions.list(), lambda s: Subscription(
        s.subscription_id, s.display_name, str(getattr(s.state, "value", s.state) or "Enabled"), s.tenant_id or ""))


def resource_groups(session: Any, subscription_id: str) -> Iterator[list[Group]]:
    clients = _for(session, subscription_id)
    return _pages(clients.resources.resource_groups.list(), lambda g: Group(g.name, g.location))


def locations(session: Any, subscription_id: str) -> list[str]:
    """The subscription's regions (short names), or the common ones when they cannot be read."""
    try:
        found = sorted({loc.name for loc in session.clients.subscriptions.subscriptions.list_locations(
            subscription_id) if getattr(loc, "name", None)})
    except Exception:  # noqa: BLE001 - a picker with the common regions beats no picker
        found = []
    return found or sorted(COMMON_LOCATIONS)


def identities(session: Any, subscription_id: str) -> list[Identity]:
    msi = _for(session, subscription_id).msi.user_assigned_identities
    return sorted((Identity(i.name, _group_of(i.id), i.location, i.client_id, i.principal_id, i.id)
                   for i in msi.list_by_subscription()), key=lambda i: (i.resource_group.lower(), i.name.lower()))


def _vault(v: Any) -> Vault:
    model = "rbac" if v.properties.enable_rbac_authorization else "access_policy"
    return Vault(v.name, _group_of(v.id), v.location, model, v.id)


def vaults(session: Any, subscription_id: str) -> list[Vault]:
    kv = _for(session, subscription_id).keyvault.vaults
    return sorted((_vault(v) for v in kv.list_by_subscription()), key=lambda v: v.name.lower())


def check_vault_name(session: Any, subscription_id: str, name: str, *, group: str = "",
                     location: str = "") -> VaultNameCheck:
    """Whether a new vault may take this name, and if not why, with the choices the person has.

    The answer is wizard.azure.vault_names' (the plan asks the same question the same way); a vault of this
    subscription that has the name is adoptable whatever its group, so both of its kinds read "exists_here".
    """
    from .azure.vault_names import vault_name_status
    clients = _for(session, subscription_id)
    status = vault_name_status(clients, clients.subscription_id or subscription_id, group, name, location)
    if status.kind in ("exists_here", "elsewhere_in_subscription"):
        found = _vault(status.vault)
        model = "Azure RBAC" if found.access_model == "rbac" else "access policies"
        return VaultNameCheck(name, "exists_here", f"{found.name} already exists in {found.resource_group} "
                              f"({found.location}, {model}); it can be adopted as it is.", existing=found)
    if status.kind == "available":
        return VaultNameCheck(name, "ok", f"{name} is available.")
    if status.kind == "soft_deleted":
        info = {"location": status.deleted_location, "deleted": f"{status.deleted_on:%Y-%m-%d}",
                "purge_after": f"{status.purge_after:%Y-%m-%d}", "purge_protection": status.purge_protection}
        return VaultNameCheck(name, "soft_deleted", f"{name} belongs to a vault you deleted on {info['deleted']}; "
                              f"Azure keeps it (and its secrets) until {info['purge_after']}.", deleted=info)
    if status.kind == "invalid":
        return VaultNameCheck(name, "invalid", status.message)
    return VaultNameCheck(name, "taken", f"Vault names are global across Azure, and {name} is used by someone "
                          "else.", suggestions=list(status.suggestions))


def container_groups(session: Any, subscription_id: str) -> list[ContainerGroup]:
    aci = _for(session, subscription_id).aci.container_groups

    def convert(g: Any) -> ContainerGroup:
        ids = (g.identity.user_assigned_identities or {}) if getattr(g, "identity", None) else {}
        image = g.containers[0].image if g.containers else ""
        return ContainerGroup(g.name, _group_of(g.id), g.location, len(ids), image, g.id)

    return sorted((convert(g) for g in aci.list()), key=lambda g: (g.resource_group.lower(), g.name.lower()))


# -- workloads: Batch pools, AKS clusters, resources to grant on -----------------------------------------------

@dataclass(frozen=True)
class BatchPool:
    name: str
    account: str
    resource_group: str
    vm_size: str
    dedicated: int
    low_priority: int
    allocation_state: str
    """Steady | Resizing | Stopping"""
    auto_scale: bool
    identities: tuple[str, ...]
    """Resource ids of the user-assigned identities in the pool's identity map."""
    id: str

    @property
    def nodes(self) -> int:
        return self.dedicated + self.low_priority

    def carries(self, identity_id: str) -> bool:
        return identity_id.lower() in {i.lower() for i in self.identities}

    def carries_named(self, group: str, name: str) -> bool:
        """The pool's map holds an identity of this group and name (its id is not known before it exists)."""
        from .azure.scopes import parse
        wanted = ("microsoft.managedidentity/userassignedidentities", group.lower(), name.lower())
        for identity_id in self.identities:
            try:
                info = parse(identity_id)
            except ValueError:
                continue  # not an identity id: it cannot be the one
            if (info.type, info.resource_group.lower(), info.name.lower()) == wanted:
                return True
        return False


@dataclass(frozen=True)
class BatchAccount:
    name: str
    resource_group: str
    location: str
    id: str
    pools: tuple[BatchPool, ...] = ()


def _pool(account: str, group: str, p: Any) -> BatchPool:
    props = p.properties if getattr(p, "properties", None) is not None else p
    scale = getattr(props, "scale_settings", None)
    identity = getattr(p, "identity", None)
    ids = tuple((identity.user_assigned_identities or {}).keys()) if identity and str(
        getattr(identity.type, "value", identity.type)) != "None" else ()
    state = getattr(props, "allocation_state", None)
    return BatchPool(p.name, account, group, getattr(props, "vm_size", "") or "",
                     getattr(props, "current_dedicated_nodes", 0) or 0,
                     getattr(props, "current_low_priority_nodes", 0) or 0,
                     str(getattr(state, "value", state) or "Steady"),
                     bool(scale is not None and getattr(scale, "auto_scale", None) is not None), ids, p.id)


def batch_accounts(session: Any, subscription_id: str) -> list[BatchAccount]:
    """The subscription's Batch accounts, each with its pools (node counts and identity maps)."""
    batch = _for(session, subscription_id).batch
    out = []
    for account in batch.batch_account.list():
        group = _group_of(account.id)
        pools = sorted((_pool(account.name, group, p) for p in batch.pool.list_by_batch_account(group, account.name)),
                       key=lambda p: p.name.lower())
        out.append(BatchAccount(account.name, group, account.location, account.id, tuple(pools)))
    return sorted(out, key=lambda a: (a.resource_group.lower(), a.name.lower()))


@dataclass(frozen=True)
class AksCluster:
    name: str
    resource_group: str
    location: str
    id: str
    oidc_issuer: bool
    issuer_url: str
    workload_identity: bool

    @property
    def problem(self) -> str | None:
        """Why pods of this cluster cannot use workload identity yet, with the command that fixes it."""
        missing = [(what, flag) for what, flag, ok in (
            ("has no OIDC issuer", "--enable-oidc-issuer", self.oidc_issuer and bool(self.issuer_url)),
            ("has workload identity off", "--enable-workload-identity", self.workload_identity)) if not ok]
        if not missing:
            return None
        return (f"{self.name} {' and '.join(w for w, _ in missing)}: run `az aks update -g {self.resource_group} "
                f"-n {self.name} {' '.join(f for _, f in missing)}`, then choose it again.")


def _generic(clients: Any, resource_type: str) -> list[Any]:
    """Every resource of one type in the subscription (id, name, location), through the generic resources API."""
    return list(clients.resources.resources.list(filter=f"resourceType eq '{resource_type}'"))


def _arm_values(clients: Any, path: str, api_version: str) -> Iterator[dict[str, Any]]:
    """The items of an ARM list (GET PATH?api-version=...), following nextLink: for child types no SDK client
    here lists (blob containers)."""
    from azure.core.rest import HttpRequest
    url: str | None = f"{path}?api-version={api_version}"
    while url:
        response = clients.resources.send_request(HttpRequest("GET", url))
        response.raise_for_status()
        body = response.json()
        yield from body.get("value", [])
        url = body.get("nextLink")


def aks_clusters(session: Any, subscription_id: str) -> list[AksCluster]:
    """The subscription's AKS clusters with their OIDC issuer and workload-identity flags (read through ARM)."""
    from .azure.scopes import API_VERSIONS
    clients = _for(session, subscription_id)
    version = API_VERSIONS["microsoft.containerservice/managedclusters"]
    out = []
    for found in _generic(clients, "Microsoft.ContainerService/managedClusters"):
        props = clients.resources.resources.get_by_id(found.id, api_version=version).properties or {}
        oidc = props.get("oidcIssuerProfile") or {}
        workload = ((props.get("securityProfile") or {}).get("workloadIdentity") or {})
        out.append(AksCluster(found.name, _group_of(found.id), found.location, found.id, bool(oidc.get("enabled")),
                              oidc.get("issuerURL") or "", bool(workload.get("enabled"))))
    return sorted(out, key=lambda c: (c.resource_group.lower(), c.name.lower()))


@dataclass(frozen=True)
class GrantScope:
    """A resource an extra grant can name: a storage account or one container, a registry, a vault or a secret."""

    kind: str
    """storage | container | registry | vault | secret"""
    name: str
    resource_group: str
    id: str
    parent: str = ""
    """The storage account of a container, the vault of a secret."""
    detail: str = ""
    rbac: bool = True
    """False for a vault with access policies (and its secrets): roles do nothing there."""

    @property
    def resource_type(self) -> str:
        from .azure import roles
        return {"storage": roles.STORAGE, "container": roles.CONTAINER, "registry": roles.REGISTRY,
                "vault": roles.VAULT, "secret": roles.SECRET}[self.kind]

    @property
    def label(self) -> str:
        words = {"storage": "storage account", "container": "container", "registry": "registry", "vault": "vault",
                 "secret": "secret"}
        return f"{words[self.kind]} {self.name}" + (f" (in {self.parent})" if self.parent else "")

    @property
    def spec_scope(self) -> str:
        """The scope as a spec writes it: relative to the setup's subscription (resourceGroups/...)."""
        from .azure.scopes import relative
        return relative(self.id)


def _blob_service_id(account_id: str) -> str:
    """The id of a storage account's (only) blob service, the parent of its containers."""
    from azure.mgmt.core.tools import parse_resource_id, resource_id
    parts = parse_resource_id(account_id)
    return resource_id(subscription=str(parts["subscription"]), resource_group=str(parts["resource_group"]),
                       namespace=str(parts["namespace"]), type=str(parts["type"]), name=str(parts["name"]),
                       child_type_1="blobServices", child_name_1="default")


def grant_scopes(session: Any, subscription_id: str) -> Iterator[list[GrantScope]]:
    """Storage accounts with their blob containers, registries, and vaults with their secrets (names from the
    management plane: no secret value, no data-plane access needed), a page per account, registry list, vault."""
    from .azure.scopes import API_VERSIONS
    clients = _for(session, subscription_id)
    version = API_VERSIONS["microsoft.storage/storageaccounts/blobservices/containers"]
    for account in sorted(_generic(clients, "Microsoft.Storage/storageAccounts"), key=lambda a: a.name.lower()):
        group = _group_of(account.id)
        page = [GrantScope("storage", account.name, group, account.id, detail="every container")]
        containers = _arm_values(clients, f"{_blob_service_id(account.id)}/containers", version)
        page += [GrantScope("container", c["name"], group, c["id"], parent=account.name)
                 for c in sorted(containers, key=lambda c: c["name"])]
        yield page
    registries = sorted(_generic(clients, "Microsoft.ContainerRegistry/registries"), key=lambda r: r.name.lower())
    yield [GrantScope("registry", r.name, _group_of(r.id), r.id) for r in registries]
    for vault in vaults(session, subscription_id):
        rbac = vault.access_model == "rbac"
        page = [GrantScope("vault", vault.name, vault.resource_group, vault.id, rbac=rbac,
                           detail="every secret" if rbac else "access policies: roles do not apply")]
        secrets = clients.keyvault.secrets.list(vault.resource_group, vault.name)
        page += [GrantScope("secret", s.name, vault.resource_group, s.id, parent=vault.name, rbac=rbac)
                 for s in sorted(secrets, key=lambda s: s.name)]
        yield page
