"""The read queries the wizard's screens ask, answered as plain data (no SDK models, no Textual).

Screens call these from thread workers: every function here may block on Azure. Lists come page by page
(``Iterator[list[...]]``) so a screen can show the first page while the next one loads. Nothing here writes
to Azure or to the state: choices become a spec, and the engine does the writing.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, TypeVar

from .azure import names

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
    parts = resource_id.split("/")
    return parts[4] if len(parts) > 4 else ""


def subscriptions(session: Any) -> Iterator[list[Subscription]]:
    return _pages(session.clients.subscriptions.subscriptions.list(), lambda s: Subscription(
        s.subscription_id, s.display_name, str(getattr(s.state, "value", s.state) or "Enabled"), s.tenant_id or ""))


def resource_groups(session: Any, subscription_id: str) -> Iterator[list[Group]]:
    clients = session.for_subscription(subscription_id)
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
    msi = session.for_subscription(subscription_id).msi.user_assigned_identities
    return sorted((Identity(i.name, _group_of(i.id), i.location, i.client_id, i.principal_id, i.id)
                   for i in msi.list_by_subscription()), key=lambda i: (i.resource_group.lower(), i.name.lower()))


def _vault(v: Any) -> Vault:
    model = "rbac" if v.properties.enable_rbac_authorization else "access_policy"
    return Vault(v.name, _group_of(v.id), v.location, model, v.id)


def vaults(session: Any, subscription_id: str) -> list[Vault]:
    kv = session.for_subscription(subscription_id).keyvault.vaults
    return sorted((_vault(v) for v in kv.list_by_subscription()), key=lambda v: v.name.lower())


def check_vault_name(session: Any, subscription_id: str, name: str) -> VaultNameCheck:
    """Whether a new vault may take this name, and if not why, with the choices the person has."""
    problem = names.validate_vault_name(name)
    if problem:
        return VaultNameCheck(name, "invalid", problem)
    kv = session.for_subscription(subscription_id).keyvault.vaults
    mine = next((v for v in kv.list_by_subscription() if v.name.lower() == name.lower()), None)
    if mine is not None:
        found = _vault(mine)
        model = "Azure RBAC" if found.access_model == "rbac" else "access policies"
        return VaultNameCheck(name, "exists_here", f"{found.name} already exists in {found.resource_group} "
                              f"({found.location}, {model}); it can be adopted as it is.", existing=found)
    result = kv.check_name_availability({"name": name, "type": "Microsoft.KeyVault/vaults"})
    if result.name_available:
        return VaultNameCheck(name, "ok", f"{name} is available.")
    deleted = next((d for d in kv.list_deleted() if d.name.lower() == name.lower()), None)
    if deleted is not None:
        props = deleted.properties
        info = {"location": props.location, "deleted": f"{props.deletion_date:%Y-%m-%d}",
                "purge_after": f"{props.scheduled_purge_date:%Y-%m-%d}",
                "purge_protection": bool(props.purge_protection_enabled)}
        return VaultNameCheck(name, "soft_deleted", f"{name} belongs to a vault you deleted on {info['deleted']}; "
                              f"Azure keeps it (and its secrets) until {info['purge_after']}.", deleted=info)
    return VaultNameCheck(name, "taken", f"Vault names are global across Azure, and {name} is used by someone "
                          "else.", suggestions=names.suggest_vault_names(name))


def container_groups(session: Any, subscription_id: str) -> list[ContainerGroup]:
    aci = session.for_subscription(subscription_id).aci.container_groups

    def convert(g: Any) -> ContainerGroup:
        ids = (g.identity.user_assigned_identities or {}) if getattr(g, "identity", None) else {}
        image = g.containers[0].image if g.containers else ""
        return ContainerGroup(g.name, _group_of(g.id), g.location, len(ids), image, g.id)

    return sorted((convert(g) for g in aci.list()), key=lambda g: (g.resource_group.lower(), g.name.lower()))


# -- signing in ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class SignInOption:
    kind: str
    """cli | env | device_code | managed_identity (the credential_kind of wizard.session)"""
    label: str
    available: bool
    detail: str


_ENV_SECRET = ("AZURE_CLIENT_SECRET", "AZURE_CLIENT_CERTIFICATE_PATH", "AZURE_FEDERATED_TOKEN_FILE")


def _cli_login(env: dict[str, str]) -> tuple[bool, str]:
    if shutil.which("az", path=env.get("PATH")) is None:
        return False, "The Azure CLI (az) is not installed."
    config = Path(env.get("AZURE_CONFIG_DIR") or Path.home() / ".azure")
    try:
        profile = json.loads((config / "azureProfile.json").read_text(encoding="utf-8-sig"))
    except (OSError, ValueError):
        return False, "The Azure CLI is installed but nobody is signed in: run `az login`."
    accounts = [s for s in profile.get("subscriptions", []) if isinstance(s, dict)]
    if not accounts:
        return False, "The Azure CLI is installed but nobody is signed in: run `az login`."
    default = next((s for s in accounts if s.get("isDefault")), accounts[0])
    who = (default.get("user") or {}).get("name", "someone")
    return True, f"Signed in as {who} ({len(accounts)} subscription{'s' if len(accounts) != 1 else ''})."


def detect_sign_in(env: dict[str, str] | None = None) -> list[SignInOption]:
    """The ways to sign in on this machine, each saying whether it is ready and why (or why not)."""
    env = dict(os.environ if env is None else env)
    cli_ok, cli_detail = _cli_login(env)
    have = [k for k in ("AZURE_TENANT_ID", "AZURE_CLIENT_ID") if env.get(k)]
    secret = next((k for k in _ENV_SECRET if env.get(k)), None)
    if len(have) == 2 and secret:
        env_ok, env_detail = True, f"A service principal ({env['AZURE_CLIENT_ID']}) with {secret}."
    elif have or secret:
        missing = [k for k in ("AZURE_TENANT_ID", "AZURE_CLIENT_ID") if k not in have] + ([] if secret else
                                                                                         ["AZURE_CLIENT_SECRET"])
        env_ok, env_detail = False, f"Incomplete: {', '.join(missing)} not set."
    else:
        env_ok, env_detail = False, "No AZURE_CLIENT_ID / AZURE_TENANT_ID / AZURE_CLIENT_SECRET in the environment."
    return [SignInOption("cli", "Azure CLI login", cli_ok, cli_detail),
            SignInOption("env", "Environment service principal", env_ok, env_detail),
            SignInOption("device_code", "Device code (sign in in a browser)", True,
                         "Shows a code here; open the link on any device and enter it."),
            SignInOption("managed_identity", "Managed identity (when this runs in Azure)", False,
                         "Only inside an Azure VM, container or App Service.")]


def no_sign_in_reason(options: Iterable[SignInOption]) -> str | None:
    """Why nothing signs in without help (None when the CLI or the environment is ready)."""
    options = list(options)
    if any(o.available for o in options if o.kind in ("cli", "env")):
        return None
    return " ".join(o.detail for o in options if o.kind in ("cli", "env"))


class SignInFailed(Exception):
    """Signing in did not work: the message says why and what to do."""


def sign_in(cloud: str, kind: str, *, prompt: Callable[[str, str, Any], None] | None = None) -> Any:
    """A Session on `cloud` with the chosen credential, proven by reading who is signed in.

    `prompt(verification_uri, user_code, expires_on)` shows the device code (called from this thread).
    """
    from .azure.clients import make_credential
    from .azure.errors import explain
    from .azure.profiles import profile_for
    from .session import Session
    try:
        profile = profile_for(cloud)
    except ValueError as err:
        raise SignInFailed(str(err)) from None
    session = Session(profile, make_credential(profile, kind, prompt_callback=prompt))
    try:
        session.operator  # noqa: B018 - reading the token is the proof
    except Exception as exc:  # noqa: BLE001 - any credential failure is explained the same way
        info = explain(exc)
        raise SignInFailed(f"{info.explanation} {info.fix}".strip()) from None
    return session
