"""Builds SDK clients and credentials from a cloud profile. Imports of the SDK are deferred to first use,
so the UI's first screen never waits for them."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from .clouds import CLOUDS
from .clouds import PUBLIC as PUBLIC_CLOUD
from .http_debug import per_call_policies
from .profiles import CloudProfile

if TYPE_CHECKING:
    from azure.core.credentials import TokenCredential

_C = TypeVar("_C")


AUTH_KINDS = {"cli": "cli", "env": "env", "device": "device_code", "device_code": "device_code",
              "msi": "managed_identity", "managed_identity": "managed_identity", "default": "default",
              "auto": "default", "client_secret": "client_secret"}
"""`--auth` words (and the UI's kind names) -> the credential made for them."""


def make_credential(profile: CloudProfile, kind: str = "auto", *, tenant: str | None = None,
                    **kwargs: Any) -> TokenCredential:
    """A credential for `profile`: the sandbox's operator (client secret, unless `kind` names another way), the
    Azure CLI's login, an environment service principal, a device code, a managed identity, or the
    DefaultAzureCredential chain. `tenant` (--tenant) replaces the profile's tenant where the way takes one."""
    import azure.identity as identity
    # No way named ("auto"): on the sandbox its operator's secret; elsewhere the chain.
    chosen = "client_secret" if kind == "auto" and profile.is_sandbox else AUTH_KINDS.get(kind, kind)
    common = dict(profile.transport_kwargs())
    tenant_id = tenant or profile.tenant_id
    if chosen == "client_secret":
        # A missing id or secret is refused by the SDK ("... should be ..."), as None or as "" alike.
        return identity.ClientSecretCredential(tenant_id or "", profile.client_id or "",
                                               profile.client_secret or "", authority=profile.authority_host,
                                               disable_instance_discovery=profile.is_sandbox, **common)
    if chosen == "cli":
        # No tenant ("" like None): the CLI's own default tenant. az reads its own cloud and CA settings.
        return identity.AzureCliCredential(tenant_id=tenant or "", process_timeout=30)
    if chosen == "env":
        return identity.EnvironmentCredential(authority=profile.authority_host,
                                              disable_instance_discovery=profile.is_sandbox, **common)
    if chosen == "device_code":
        return identity.DeviceCodeCredential(tenant_id=tenant_id or "organizations", authority=profile.authority_host,
                                             prompt_callback=kwargs.get("prompt_callback"),
                                             disable_instance_discovery=profile.is_sandbox, **common)
    if chosen == "managed_identity":
        import os  # a user-assigned identity is named by AZURE_CLIENT_ID, as the chain reads it
        return identity.ManagedIdentityCredential(client_id=kwargs.get("client_id") or os.environ.get(
            "AZURE_CLIENT_ID") or None, **common)
    chain = identity.DefaultAzureCredential(authority=profile.authority_host,
                                            exclude_interactive_browser_credential=True,
                                            **({"additionally_allowed_tenants": [tenant]} if tenant else {}),
                                            **({"disable_instance_discovery": True} if profile.is_sandbox else {}),
                                            **common)
    return _InTenant(chain, tenant) if tenant else chain


class _InTenant:
    """The chain asked for tokens of one tenant (DefaultAzureCredential takes no tenant_id of its own; each of its
    credentials takes one per request)."""

    def __init__(self, inner: Any, tenant: str):
        self.inner, self.tenant = inner, tenant

    def get_token(self, *scopes: str, **kwargs: Any) -> Any:
        kwargs.setdefault("tenant_id", self.tenant)
        return self.inner.get_token(*scopes, **kwargs)

    def close(self) -> None:
        self.inner.close()


POOL_SIZE = 32
"""Open connections kept per client. requests keeps 10 by default: a burst of parallel steps (20 grants side by
side) would drop the rest after each call and pay a new TLS handshake for each next one."""


def pooled_transport(**config: Any) -> Any:
    """The SDK's requests transport with a connection pool as large as the engine's parallelism (`config`: the
    transport's settings, e.g. connection_verify, which a client given a transport no longer applies itself)."""
    import requests
    from azure.core.pipeline.transport import RequestsTransport
    session = requests.Session()
    adapter = requests.adapters.HTTPAdapter(pool_connections=POOL_SIZE, pool_maxsize=POOL_SIZE)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return RequestsTransport(session=session, session_owner=True, **config)


BATCH_SCOPES = {**{c.name: c.batch_scope for c in CLOUDS.values()}, "sandbox": PUBLIC_CLOUD.batch_scope}


class AzureClients:
    """One place to get each management client for a subscription (created once, reused).

    The clients are typed Any on purpose: the steps hand the SDK plain dicts where its stubs name model classes
    (which it accepts and serialises alike), and they read models' Optional fields that Azure always sets."""

    def __init__(self, profile: CloudProfile, credential: TokenCredential, subscription_id: str | None = None,
                 *, _shared: tuple[dict[tuple[str, str | None], Any], threading.Lock] | None = None):
        self.profile, self.credential, self.subscription_id = profile, credential, subscription_id
        # Shared by every subscription's view: a client (and its pool of open TLS connections) is built once per
        # (kind, subscription) however often a step asks for another subscription's clients.
        self._cache, self._lock = _shared or ({}, threading.Lock())

    def _client(self, key: str, build: Callable[[], _C]) -> _C:
        with self._lock:
            cache_key = (key, self.subscription_id)
            if cache_key not in self._cache:
                self._cache[cache_key] = build()
            client: _C = self._cache[cache_key]
            return client

    def _arm_kwargs(self) -> dict[str, Any]:
        return {**self.profile.client_kwargs(), "transport": pooled_transport(**self.profile.transport_kwargs()),
                **per_call_policies()}

    def _subscription(self) -> str:
        """The subscription of a subscription-scoped client; without one the SDK would refuse it just the same."""
        if self.subscription_id is None:
            raise ValueError("Parameter 'subscription_id' must not be None.")
        return self.subscription_id

    def for_subscription(self, subscription_id: str) -> AzureClients:
        return AzureClients(self.profile, self.credential, subscription_id, _shared=(self._cache, self._lock))

    @property
    def subscriptions(self) -> Any:
        from azure.mgmt.resource.subscriptions import SubscriptionClient
        return self._client("subscriptions", lambda: SubscriptionClient(self.credential, **self._arm_kwargs()))

    @property
    def resources(self) -> Any:
        from azure.mgmt.resource.resources import ResourceManagementClient
        return self._client("resources", lambda: ResourceManagementClient(
            self.credential, self._subscription(), **self._arm_kwargs()))

    @property
    def msi(self) -> Any:
        from azure.mgmt.msi import ManagedServiceIdentityClient
        return self._client("msi", lambda: ManagedServiceIdentityClient(
            self.credential, self._subscription(), **self._arm_kwargs()))

    @property
    def keyvault(self) -> Any:
        from azure.mgmt.keyvault import KeyVaultManagementClient
        return self._client("keyvault", lambda: KeyVaultManagementClient(
            self.credential, self._subscription(), **self._arm_kwargs()))

    @property
    def authorization(self) -> Any:
        from azure.mgmt.authorization import AuthorizationManagementClient
        return self._client("authorization", lambda: AuthorizationManagementClient(
            self.credential, self._subscription(), **self._arm_kwargs()))

    @property
    def aci(self) -> Any:
        from azure.mgmt.containerinstance import ContainerInstanceManagementClient
        return self._client("aci", lambda: ContainerInstanceManagementClient(
            self.credential, self._subscription(), **self._arm_kwargs()))

    @property
    def batch(self) -> Any:
        from azure.mgmt.batch import BatchManagementClient
        return self._client("batch", lambda: BatchManagementClient(
            self.credential, self._subscription(), **self._arm_kwargs()))

    def batch_data(self, endpoint: str) -> Any:
        """The Batch service (data plane) client of one account; `endpoint` is its accountEndpoint."""
        from azure.batch import BatchClient
        url = endpoint if "://" in endpoint else f"https://{endpoint}"
        # The SDK's default scope is the public cloud's ("https://batch.core.windows.net//.default", the double
        # slash is Batch's resource id plus "/.default"); sovereign clouds have their own Batch resource.
        scope = BATCH_SCOPES.get(self.profile.name, BATCH_SCOPES["public"])
        return self._client(f"batch_data:{url.lower()}", lambda: BatchClient(
            url, self.credential, credential_scopes=[scope], **self.profile.transport_kwargs(),
            **per_call_policies()))

    def secrets(self, vault_url: str) -> Any:
        from azure.keyvault.secrets import SecretClient
        return self._client(f"secrets:{vault_url}", lambda: SecretClient(
            vault_url, self.credential, verify_challenge_resource=self.profile.verify_challenge_resource,
            **self.profile.transport_kwargs(), **per_call_policies()))
