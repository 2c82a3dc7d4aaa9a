"""Builds SDK clients and credentials from a cloud profile. Imports of the SDK are deferred to first use,
so the UI's first screen never waits for them."""

from __future__ import annotations

import threading
from typing import Any

from .profiles import CloudProfile


def make_credential(profile: CloudProfile, kind: str = "auto", **kwargs: Any) -> Any:
    """A credential for `profile`: client secret (sandbox, env service principal), Azure CLI, device code or MI."""
    import azure.identity as identity
    common = dict(profile.transport_kwargs())
    if profile.is_sandbox or kind == "client_secret":
        return identity.ClientSecretCredential(profile.tenant_id, profile.client_id, profile.client_secret,
                                               authority=profile.authority_host, disable_instance_discovery=profile.is_sandbox,
                                               **common)
    if kind == "cli":
        return identity.AzureCliCredential(tenant_id=profile.tenant_id, process_timeout=30)
    if kind == "env":
        return identity.EnvironmentCredential(authority=profile.authority_host, **common)
    if kind == "device_code":
        return identity.DeviceCodeCredential(tenant_id=profile.tenant_id, authority=profile.authority_host,
                                             prompt_callback=kwargs.get("prompt_callback"), **common)
    if kind == "managed_identity":
        return identity.ManagedIdentityCredential(client_id=kwargs.get("client_id"), **common)
    return identity.DefaultAzureCredential(authority=profile.authority_host, exclude_interactive_browser_credential=True,
                                           **common)


BATCH_SCOPES = {"public": "https://batch.core.windows.net//.default",
                "sandbox": "https://batch.core.windows.net//.default",
                "china": "https://batch.chinacloudapi.cn/.default",
                "usgov": "https://batch.core.usgovcloudapi.net/.default"}


class AzureClients:
    """One place to get each management client for a subscription (created once, reused)."""

    def __init__(self, profile: CloudProfile, credential: Any, subscription_id: str | None = None):
        self.profile, self.credential, self.subscription_id = profile, credential, subscription_id
        self._cache: dict[tuple[str, str | None], Any] = {}
        self._lock = threading.Lock()

    def _client(self, key: str, build) -> Any:
        with self._lock:
            cache_key = (key, self.subscription_id)
            if cache_key not in self._cache:
                self._cache[cache_key] = build()
            return self._cache[cache_key]

    def for_subscription(self, subscription_id: str) -> "AzureClients":
        other = AzureClients(self.profile, self.credential, subscription_id)
        return other

    @property
    def subscriptions(self):
        from azure.mgmt.resource.subscriptions import SubscriptionClient
        return self._client("subscriptions", lambda: SubscriptionClient(self.credential, **self.profile.client_kwargs()))

    @property
    def resources(self):
        from azure.mgmt.resource.resources import ResourceManagementClient
        return self._client("resources", lambda: ResourceManagementClient(
            self.credential, self.subscription_id, **self.profile.client_kwargs()))

    @property
    def msi(self):
        from azure.mgmt.msi import ManagedServiceIdentityClient
        return self._client("msi", lambda: ManagedServiceIdentityClient(
            self.credential, self.subscription_id, **self.profile.client_kwargs()))

    @property
    def keyvault(self):
        from azure.mgmt.keyvault import KeyVaultManagementClient
        return self._client("keyvault", lambda: KeyVaultManagementClient(
            self.credential, self.subscription_id, **self.profile.client_kwargs()))

    @property
    def authorization(self):
        from azure.mgmt.authorization import AuthorizationManagementClient
        return self._client("authorization", lambda: AuthorizationManagementClient(
            self.credential, self.subscription_id, **self.profile.client_kwargs()))

    @property
    def aci(self):
        from azure.mgmt.containerinstance import ContainerInstanceManagementClient
        return self._client("aci", lambda: ContainerInstanceManagementClient(
            self.credential, self.subscription_id, **self.profile.client_kwargs()))

    @property
    def batch(self):
        from azure.mgmt.batch import BatchManagementClient
        return self._client("batch", lambda: BatchManagementClient(
            self.credential, self.subscription_id, **self.profile.client_kwargs()))

    def batch_data(self, endpoint: str):
        """The Batch service (data plane) client of one account; `endpoint` is its accountEndpoint."""
        from azure.batch import BatchClient
        url = endpoint if "://" in endpoint else f"https://{endpoint}"
        # The SDK's default scope is the public cloud's ("https://batch.core.windows.net//.default", the double
        # slash is Batch's resource id plus "/.default"); sovereign clouds have their own Batch resource.
        scope = BATCH_SCOPES.get(self.profile.name, BATCH_SCOPES["public"])
        return self._client(f"batch_data:{url.lower()}", lambda: BatchClient(
            url, self.credential, credential_scopes=[scope], **self.profile.transport_kwargs()))

    def secrets(self, vault_url: str):
        from azure.keyvault.secrets import SecretClient
        return self._client(f"secrets:{vault_url}", lambda: SecretClient(
            vault_url, self.credential, verify_challenge_resource=self.profile.verify_challenge_resource,
            **self.profile.transport_kwargs()))
