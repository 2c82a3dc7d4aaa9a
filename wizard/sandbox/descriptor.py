"""What the sandbox descriptor tells a client beyond URLs and credentials: the scopes to ask for, and how to point
the Azure CLI at it; and writing the descriptor file (it holds the operator's client secret) 0600 atomically.

The sandbox serves Azure's own audiences (`https://management.azure.com`, not its 127.0.0.1 URL), because its
clients are the unmodified SDKs and CLI; a client that does not know this reads it here.
"""

from __future__ import annotations

import json
import shlex
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .files import write_private
from .tokens import SCOPES

if TYPE_CHECKING:
    from .app import Sandbox

AZ_CLOUD_NAME = "mi-wizard-sandbox"


def az_cloud_register(sb: Sandbox) -> str:
    """A ready `az cloud register` line. It names every endpoint az needs, so az does not depend on discovering
    them (`az cloud set -n mi-wizard-sandbox` then selects the sandbox; az must trust `ca_bundle`: REQUESTS_CA_BUNDLE)."""
    return shlex.join(["az", "cloud", "register", "--name", AZ_CLOUD_NAME,
                       "--endpoint-resource-manager", f"{sb.arm_url}/",
                       "--endpoint-active-directory", sb.authority,
                       "--endpoint-active-directory-resource-id", "https://management.core.windows.net/",
                       "--endpoint-active-directory-graph-resource-id", "https://graph.windows.net/",
                       "--suffix-keyvault-dns", ".vault.azure.net",
                       "--suffix-storage-endpoint", "core.windows.net"])


def descriptor_extras(sb: Sandbox) -> dict[str, Any]:
    return {**SCOPES, "az_cloud_register": az_cloud_register(sb), "az_env": {
        "REQUESTS_CA_BUNDLE": str(sb.ca_path),
        # MSAL would otherwise ask login.microsoftonline.com to validate the sandbox's authority (Azure Stack's
        # switch turns that off): without it `az login` fails with a name-resolution error.
        "AZURE_CORE_INSTANCE_DISCOVERY": "false"}}


def write_descriptor(path: Path, descriptor: dict[str, Any]) -> None:
    """Write the descriptor 0600 from its first byte (it holds a client secret), replacing any old one atomically."""
    write_private(path, json.dumps(descriptor, indent=2).encode())
