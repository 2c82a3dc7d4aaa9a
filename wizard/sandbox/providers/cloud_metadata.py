"""GET /metadata/endpoints on the ARM host: the cloud's endpoints document, for clients that discover a cloud from
its Resource Manager URL (`az cloud register --endpoint-resource-manager URL`, go-azure-sdk, Azure Stack tooling).

Shapes by api-version, as Azure answers them (go-azure-sdk's metadata client tests carry Azure's own answers):
- 1.0 and 2015-01-01: one dict {galleryEndpoint, graphEndpoint, portalEndpoint, authentication}; 2018-01-01 adds
  graphAudience, authentication.tenant/identityProvider and cloudEndpoint. Older azure-cli releases read this form
  (azure-cli's own 2025 recording of `cloud register` still asks 2015-01-01).
- 2019-05-01 and 2020-06-01: a list with one dict per cloud (name, resourceManager, suffixes, batch...).
- 2022-09-01: the dict of the cloud asked, with the newer keys; current azure-cli's `cloud register` reads it whole
  (`_arm_to_cli_mapper(response.json())`: name, authentication.audiences[0] and loginEndpoint, suffixes).
The sandbox is one cloud: its ARM and login endpoints are its own; its ARM audiences are the ones its tokens
carry. Key Vault's DNS suffix is the sandbox's vault host (every vault is https://127.0.0.1:PORT/, so no name-based
URL can reach one: clients use the vault URI ARM returns). Storage and registry suffixes are the ones the
sandbox's own accounts and registries report. Services the sandbox does not serve keep Azure's public resource
ids: the sandbox refuses tokens for them, so nothing is ever sent there with its credentials.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from ..arm import LOCATIONS
from ..router import LOGIN, ArmError, Request, Response, router
from ..tokens import ARM_AUDIENCES, BATCH_AUDIENCE

CLOUD_NAME = "MiWizardSandbox"
LIST_VERSIONS = ("2019-05-01", "2020-06-01")
LEGACY_VERSIONS = ("1.0", "2015-01-01", "2018-01-01")
CURRENT_VERSIONS = ("2022-09-01",)
SUPPORTED = LEGACY_VERSIONS + LIST_VERSIONS + CURRENT_VERSIONS
_ALIASES = "https://raw.githubusercontent.com/Azure/azure-rest-api-specs/master/arm-compute/quickstart-templates/" \
           "aliases.json"


def _audiences() -> list[str]:
    # Azure lists management.core.windows.net first; azure-cli takes audiences[0] as the token resource.
    ordered = sorted(ARM_AUDIENCES, key=lambda a: "core.windows.net" not in a)
    return [a.rstrip("/") + "/" for a in ordered]


def _authentication(sb, *, trailing_slash: bool, full: bool) -> dict[str, Any]:
    login = sb.authority.rstrip("/") + ("/" if trailing_slash else "")
    out: dict[str, Any] = {"loginEndpoint": login, "audiences": _audiences()}
    if full:
        out.update(tenant="common", identityProvider="AAD")
    return out


def cloud(sb, *, current: bool) -> dict[str, Any]:
    """One cloud entry: the 2022-09-01 dict (current) or an item of the 2019-05-01/2020-06-01 list."""
    arm = sb.arm_url.rstrip("/") + "/"
    # Azure's own suffix, as the descriptor's `az cloud register` line gives it: az derives the Key Vault token
    # audience from it (https://vault.azure.net, the one the sandbox accepts). Vault URLs are the sandbox's own
    # (each vault on its own port): use the vault URI ARM returns, never one built from a name.
    vault_host = "vault.azure.net"
    suffixes: dict[str, str] = {
        "azureDataLakeStoreFileSystem": "azuredatalakestore.net", "acrLoginServer": "azurecr.io",
        "sqlServerHostname": "database.windows.net",
        "azureDataLakeAnalyticsCatalogAndJob": "azuredatalakeanalytics.net",
        "keyVaultDns": vault_host, "storage": "core.windows.net", "azureFrontDoorEndpointSuffix": "azurefd.net"}
    out: dict[str, Any] = {
        "portal": "https://portal.azure.com",
        "authentication": _authentication(sb, trailing_slash=not current, full=True),
        "media": "https://rest.media.azure.net", "graphAudience": "https://graph.windows.net/",
        "graph": "https://graph.windows.net/", "name": CLOUD_NAME, "suffixes": suffixes,
        "batch": BATCH_AUDIENCE, "resourceManager": arm, "vmImageAliasDoc": _ALIASES,
        "activeDirectoryDataLake": "https://datalake.azure.net/",
        "sqlManagement": "https://management.core.windows.net:8443/"}
    if not current:
        out["gallery"] = "https://gallery.azure.com/"
        return out
    suffixes.update(storageSyncEndpointSuffix="afs.azure.net", mhsmDns="managedhsm.azure.net",
                    mysqlServerEndpoint="mysql.database.azure.com",
                    postgresqlServerEndpoint="postgres.database.azure.com",
                    mariadbServerEndpoint="mariadb.database.azure.com", synapseAnalytics="dev.azuresynapse.net",
                    attestationEndpoint="attest.azure.net")
    out.update(microsoftGraphResourceId="https://graph.microsoft.com/",
               appInsightsResourceId="https://api.applicationinsights.io",
               appInsightsTelemetryChannelResourceId="https://dc.applicationinsights.azure.com/v2/track",
               attestationResourceId="https://attest.azure.net",
               synapseAnalyticsResourceId="https://dev.azuresynapse.net",
               logAnalyticsResourceId="https://api.loganalytics.io",
               ossrDbmsResourceId="https://ossrdbms-aad.database.windows.net")
    return out


def legacy(sb, version: str) -> dict[str, Any]:
    """The 1.0 / 2015-01-01 / 2018-01-01 document."""
    out: dict[str, Any] = {"galleryEndpoint": "https://gallery.azure.com/", "graphEndpoint": "https://graph.windows.net/",
                           "portalEndpoint": "https://portal.azure.com/"}
    if version == "2018-01-01":
        out["graphAudience"] = "https://graph.windows.net/"
    out["authentication"] = _authentication(sb, trailing_slash=True, full=version == "2018-01-01")
    if version == "2018-01-01":
        out["cloudEndpoint"] = {"sandbox": {"endpoint": urlsplit(sb.arm_url).netloc, "locations": list(LOCATIONS)}}
    return out


@router.route("GET", "/metadata/endpoints", operation="arm_metadata", plane=LOGIN, authenticated=False)
def metadata_endpoints(sb, req: Request) -> Response:
    version = req.api_version
    if version in CURRENT_VERSIONS:
        return Response(200, cloud(sb, current=True))
    if version in LIST_VERSIONS:
        return Response(200, [cloud(sb, current=False)])
    if version in LEGACY_VERSIONS:
        return Response(200, legacy(sb, version))
    raise ArmError(400, "InvalidApiVersionParameter", f"The api-version '{version}' is invalid. The supported "
                   f"versions are '{','.join(sorted(SUPPORTED, reverse=True))}'.")
