"""Cloud profiles: everything that differs between clouds, in one place. The sandbox is just another cloud."""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from . import clouds
from .clouds import Cloud
from .display import SANDBOX_DISPLAY_NAME, SANDBOX_DISPLAY_NOTE


@dataclass(frozen=True)
class CloudProfile:
    """Endpoints, scopes, TLS trust and client options of one cloud."""

    name: str
    arm_url: str
    authority_host: str
    arm_scope: str
    keyvault_dns_suffix: str
    keyvault_scope: str
    ca_bundle: str | None = None
    """A CA bundle to trust (the sandbox's own CA); None means the system's trust store."""
    verify_challenge_resource: bool = True
    """False only for the sandbox, whose vaults are 127.0.0.1 ports rather than *.vault.azure.net hosts."""
    polling_interval: float = 5.0
    tenant_id: str | None = None
    client_id: str | None = None
    client_secret: str | None = field(default=None, repr=False)
    imds_url: str | None = None
    subscription_ids: tuple[str, ...] = ()
    probe_image: str = "mcr.microsoft.com/azurelinux/distroless/python:3"
    """The live probe's image: the smallest Microsoft-hosted one with python3 (the probe is a stdlib-only script).
    Azure Linux 3's distroless Python: Python 3.12, about 84 MB against 140 MB for azurelinux/base/python and far
    more for azure-cli (https://github.com/maniSbindra/sbi/blob/main/docs/daily_recommendations.md, sizes as
    `docker images` reports them). It is distroless-packages-base (ca-certificates, openssl: the HTTPS call to Key
    Vault) plus the python3 package, /usr/bin/python3 (https://github.com/microsoft/azurelinux: .pipelines/
    containerSourceData/python/distroless/python.pkg and SPECS/distroless-packages/distroless-packages.spec;
    images built on it start `["python3", ...]` in exec form). There is no shell, and none is needed: ACI's command
    replaces the image's entrypoint and starts without a shell ("similar to --entrypoint", https://learn.microsoft.com/
    azure/container-instances/container-instances-start-command), so `python3 -c SCRIPT ARGS` runs as is. Not
    cbl-mariner/base/python (CBL-Mariner 2.0 reached end of life in mid-2025, no more updates:
    https://github.com/dotnet/dotnet-docker/discussions/7186), nor mcr.microsoft.com/mirror/docker/library/python
    (Microsoft's mirror of Docker Hub for its own builds: the Azure SDK's Dockerfiles tell public users to leave it
    out), nor devcontainers/python (a full development image)."""
    storage_suffix: str = "core.windows.net"
    token_exchange_audience: str = "api://AzureADTokenExchange"
    az_cloud_name: str = "AzureCloud"
    """The Azure CLI's name of this cloud (`az cloud set --name ...`)."""
    github_api_url: str = "https://api.github.com"
    """GitHub's REST API (the GitHub target reads repository ids there); the sandbox serves a stand-in."""
    display_name: str = "Azure"
    """How screens and messages name this cloud: "Azure US Government", "the sandbox"."""
    display_note: str = ""
    """What it is, when the name alone does not say ("a local, simulated Azure")."""

    @property
    def is_sandbox(self) -> bool:
        return self.name == "sandbox"

    @property
    def described(self) -> str:
        """The display name with its note: "the sandbox (a local, simulated Azure)"; "Azure US Government"."""
        return f"{self.display_name} ({self.display_note})" if self.display_note else self.display_name

    def client_kwargs(self) -> dict[str, Any]:
        """Keyword arguments every management client takes."""
        kwargs: dict[str, Any] = {"base_url": self.arm_url, "credential_scopes": [self.arm_scope],
                                  "polling_interval": self.polling_interval}
        if self.ca_bundle:
            kwargs["connection_verify"] = self.ca_bundle
        return kwargs

    def transport_kwargs(self) -> dict[str, Any]:
        return {"connection_verify": self.ca_bundle} if self.ca_bundle else {}

    def with_operator(self, client_id: str, client_secret: str) -> CloudProfile:
        return replace(self, client_id=client_id, client_secret=client_secret)


def _profile(c: Cloud) -> CloudProfile:
    return CloudProfile(c.name, c.arm_url, c.authority_host, c.arm_scope, c.keyvault_suffix, c.keyvault_scope,
                        storage_suffix=c.storage_suffix, token_exchange_audience=c.token_exchange_audience,
                        az_cloud_name=c.az_name, display_name=c.title)


PUBLIC, CHINA, USGOV = (_profile(c) for c in (clouds.PUBLIC, clouds.CHINA, clouds.USGOV))
CLOUDS = {p.name: p for p in (PUBLIC, CHINA, USGOV)}



AZ_SANDBOX_CLOUD = "mi-wizard-sandbox"
"""What the sandbox's descriptor tells `az cloud register` to call it (wizard/sandbox/descriptor.py)."""


def sandbox_profile(descriptor: dict[str, Any]) -> CloudProfile:
    """The profile of a sandbox, from the JSON descriptor it prints (or `Sandbox.descriptor()`)."""
    return CloudProfile(
        name="sandbox", arm_url=descriptor["arm_url"], authority_host=descriptor["authority_url"],
        arm_scope="https://management.azure.com/.default", keyvault_dns_suffix="",
        keyvault_scope="https://vault.azure.net/.default", ca_bundle=descriptor["ca_bundle"],
        verify_challenge_resource=False, polling_interval=0.2, tenant_id=descriptor["tenant_id"],
        client_id=descriptor["client_id"], client_secret=descriptor["client_secret"],
        imds_url=descriptor["imds_url"], subscription_ids=tuple(descriptor.get("subscription_ids", ())),
        probe_image="sandbox/python3", az_cloud_name=AZ_SANDBOX_CLOUD, github_api_url=f"{descriptor['arm_url']}/_sandbox/github/api",
        display_name=SANDBOX_DISPLAY_NAME, display_note=SANDBOX_DISPLAY_NOTE)


def load_descriptor(path: Path | str) -> dict[str, Any]:
    try:
        data = json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise ValueError(f"No sandbox descriptor at {path}. Start one with `mi-wizard sandbox serve` and save the "
                         "line it prints to that file.") from None
    except ValueError:
        raise ValueError(f"{path} is not a sandbox descriptor (not JSON). Save the single JSON line that "
                         "`mi-wizard sandbox serve` prints.") from None
    if not isinstance(data, dict):
        raise ValueError(f"{path} is not a sandbox descriptor (JSON, but not an object). Save the single JSON line "
                         "that `mi-wizard sandbox serve` prints.")
    missing = [k for k in ("arm_url", "authority_url", "tenant_id", "client_id", "client_secret", "ca_bundle")
               if k not in data]
    if missing:
        raise ValueError(f"{path} is missing {', '.join(missing)}: save the whole line `mi-wizard sandbox serve` prints.")
    return data


def profile_for(cloud: str) -> CloudProfile:
    problem = clouds.cloud_problem(cloud)
    if problem:
        raise ValueError(f"{problem} (Or --sandbox for the local sandbox.)")
    return CLOUDS[cloud]
