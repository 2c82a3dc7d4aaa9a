"""The Azure clouds mi-wizard knows, and everything that differs between them in one table: endpoints, token
scopes, DNS suffixes, the token-exchange audience of federated credentials, and the names other tools give them.

Every value is checked by tests/unit/test_clouds.py against azure-identity's `AzureAuthorityHosts` and the Azure
CLI's own cloud definitions (azure-cli `azure/cli/core/cloud.py`: AZURE_PUBLIC_CLOUD, AZURE_CHINA_CLOUD,
AZURE_US_GOV_CLOUD).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Cloud:
    name: str
    """mi-wizard's name: the spec's `cloud` and `--cloud`."""
    title: str
    az_name: str
    """The Azure CLI's name (`az cloud set --name ...`); azure/login's `environment` takes it too (any case)."""
    arm_url: str
    authority_host: str
    keyvault_suffix: str
    storage_suffix: str
    batch_resource: str
    """Batch's resource id as Entra knows it (with its trailing slash: the scope is this + "/.default")."""
    token_exchange_audience: str
    """The audience a federated credential expects in the outside token. Microsoft documents one per Entra
    instance: public `api://AzureADTokenExchange`, Azure Government (Fairfax) `api://AzureADTokenExchangeUSGov`,
    Azure China (Mooncake) `api://AzureADTokenExchangeChina`:
    https://learn.microsoft.com/entra/workload-id/workload-identity-federation-config-app-trust-managed-identity
    ("audiences ... must be one of the following"); azure/login's default audience is the public one, so a
    workflow on another cloud names it (https://github.com/Azure/login/issues/452)."""

    @property
    def arm_scope(self) -> str:
        return f"{self.arm_url}/.default"

    @property
    def keyvault_scope(self) -> str:
        return f"https://{self.keyvault_suffix.lstrip('.')}/.default"

    @property
    def batch_scope(self) -> str:
        return f"{self.batch_resource}/.default"


PUBLIC = Cloud("public", "Azure", "AzureCloud", "https://management.azure.com", "https://login.microsoftonline.com",
               ".vault.azure.net", "core.windows.net", "https://batch.core.windows.net/", "api://AzureADTokenExchange")
CHINA = Cloud("china", "Azure China (21Vianet)", "AzureChinaCloud", "https://management.chinacloudapi.cn",
              "https://login.chinacloudapi.cn", ".vault.azure.cn", "core.chinacloudapi.cn",
              "https://batch.chinacloudapi.cn/", "api://AzureADTokenExchangeChina")
USGOV = Cloud("usgov", "Azure US Government", "AzureUSGovernment", "https://management.usgovcloudapi.net",
              "https://login.microsoftonline.us", ".vault.usgovcloudapi.net", "core.usgovcloudapi.net",
              "https://batch.core.usgovcloudapi.net/", "api://AzureADTokenExchangeUSGov")
CLOUDS: dict[str, Cloud] = {c.name: c for c in (PUBLIC, CHINA, USGOV)}
KNOWN = tuple(CLOUDS)

RETIRED = {"germany": "Azure Germany closed in October 2021; its customers moved to the public cloud's German "
                      "regions (cloud = \"public\", location = \"germanywestcentral\")."}


def cloud_problem(name: str) -> str | None:
    """Why `name` is not a cloud mi-wizard can use (None when it is one)."""
    if name in CLOUDS:
        return None
    why = RETIRED.get(name.lower(), "")
    return f"'{name}' is not a cloud mi-wizard knows: use one of {', '.join(KNOWN)}." + (f" {why}" if why else "")


def cloud(name: str) -> Cloud:
    problem = cloud_problem(name)
    if problem:
        raise ValueError(problem)
    return CLOUDS[name]


def by_az_name(az_name: str) -> Cloud | None:
    """The cloud the Azure CLI calls `az_name` (case-insensitive), if it is one of these."""
    return next((c for c in CLOUDS.values() if c.az_name.lower() == az_name.lower()), None)


def by_audience(audience: str) -> Cloud | None:
    return next((c for c in CLOUDS.values() if c.token_exchange_audience == audience), None)
