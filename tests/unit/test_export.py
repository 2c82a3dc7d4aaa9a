"""`mi-wizard export`: golden files for every example and format, the Terraform checked against the azurerm
provider's documented resources and attributes, the Bicep against the SDK clients' types and API versions, and
the secret only ever as a reference.

Refresh the goldens after an intended change: MI_WIZARD_UPDATE_GOLDEN=1 python -m pytest -n 0 tests/unit/test_export.py
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from wizard.azure import scopes
from wizard.export.common import API_VERSIONS, SECRET_ENV
from wizard.export_cmd import cmd_export, render

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = ROOT / "tests" / "golden" / "export"
EXAMPLES = sorted(p.stem for p in (ROOT / "examples").glob("*.toml"))
FORMATS = ("az", "bicep", "terraform")
UPDATE = os.environ.get("MI_WIZARD_UPDATE_GOLDEN") == "1"

try:
    import hcl2
except ImportError as err:  # the `test` extra installs it: fail with the reason, never skip
    raise ImportError(f"python-hcl2 is needed to parse the Terraform export (pip install -e '.[test]'): {err}") from err

# The azurerm provider (5.x) as documented: resource and data source types, and the arguments (and nested blocks,
# with theirs) this export may use. Checked with the search tool against the provider's own docs at
# https://github.com/hashicorp/terraform-provider-azurerm/tree/v5.2.0/website/docs (commit 69697b7fe6, after
# v5.2.0): r/<name>.html.markdown and d/<name>.html.markdown, "Arguments Reference" / "Attributes Reference".
AZURERM_RESOURCES: dict[str, dict[str, Any]] = {
    # r/resource_group.html.markdown
    "azurerm_resource_group": {"name": None, "location": None, "managed_by": None, "tags": None},
    # r/user_assigned_identity.html.markdown
    "azurerm_user_assigned_identity": {"name": None, "resource_group_name": None, "location": None,
                                       "isolation_scope": None, "tags": None},
    # r/key_vault.html.markdown
    "azurerm_key_vault": {"name": None, "location": None, "resource_group_name": None,
                          "rbac_authorization_enabled": None, "sku_name": None, "tenant_id": None,
                          "enabled_for_deployment": None, "enabled_for_disk_encryption": None,
                          "enabled_for_template_deployment": None, "purge_protection_enabled": None,
                          "public_network_access_enabled": None, "soft_delete_retention_days": None, "tags": None},
    # r/key_vault_secret.html.markdown
    "azurerm_key_vault_secret": {"name": None, "value": None, "value_wo": None, "value_wo_version": None,
                                 "key_vault_id": None, "content_type": None, "tags": None, "not_before_date": None,
                                 "expiration_date": None},
    # r/key_vault_access_policy.html.markdown
    "azurerm_key_vault_access_policy": {"key_vault_id": None, "tenant_id": None, "object_id": None,
                                        "application_id": None, "certificate_permissions": None,
                                        "key_permissions": None, "secret_permissions": None,
                                        "storage_permissions": None},
    # r/role_assignment.html.markdown
    "azurerm_role_assignment": {"name": None, "scope": None, "role_definition_id": None, "role_definition_name": None,
                                "principal_id": None, "principal_type": None, "condition": None,
                                "condition_version": None, "delegated_managed_identity_resource_id": None,
                                "description": None, "skip_service_principal_aad_check": None},
    # r/federated_identity_credential.html.markdown
    "azurerm_federated_identity_credential": {"name": None, "user_assigned_identity_id": None, "audience": None,
                                              "issuer": None, "subject": None},
    # r/container_group.html.markdown (the `identity` and `container` blocks)
    "azurerm_container_group": {"name": None, "resource_group_name": None, "location": None, "sku": None,
                                "os_type": None, "restart_policy": None, "ip_address_type": None, "tags": None,
                                "identity": {"type": None, "identity_ids": None},
                                "container": {"name": None, "image": None, "cpu": None, "memory": None,
                                              "cpu_limit": None, "memory_limit": None, "environment_variables": None,
                                              "secure_environment_variables": None, "commands": None}},
    # r/batch_pool.html.markdown (the `identity`, `storage_image_reference` and `fixed_scale` blocks)
    "azurerm_batch_pool": {"name": None, "resource_group_name": None, "account_name": None,
                           "node_agent_sku_id": None, "vm_size": None, "display_name": None,
                           "identity": {"type": None, "identity_ids": None},
                           "storage_image_reference": {"publisher": None, "offer": None, "sku": None,
                                                       "version": None, "id": None},
                           "fixed_scale": {"node_deallocation_method": None, "target_dedicated_nodes": None,
                                           "target_low_priority_nodes": None, "resize_timeout": None}},
}
AZURERM_DATA: dict[str, dict[str, Any]] = {
    "azurerm_client_config": {},  # d/client_config.html.markdown: no arguments
    "azurerm_user_assigned_identity": {"name": None, "resource_group_name": None},  # d/user_assigned_identity
    "azurerm_kubernetes_cluster": {"name": None, "resource_group_name": None},  # d/kubernetes_cluster
}
# What other blocks read from them ("Attributes Reference"): type -> attributes (arguments are readable too).
AZURERM_EXPORTED: dict[str, set[str]] = {
    "azurerm_resource_group": {"id"},
    "azurerm_user_assigned_identity": {"id", "principal_id", "client_id", "tenant_id"},
    "azurerm_key_vault": {"id", "vault_uri"},
    "azurerm_key_vault_secret": {"id", "resource_id", "resource_versionless_id", "version", "versionless_id"},
    "azurerm_client_config": {"client_id", "tenant_id", "subscription_id", "object_id"},
    "azurerm_kubernetes_cluster": {"id", "oidc_issuer_url", "oidc_issuer_enabled"},
    "azurerm_federated_identity_credential": {"id"},
    "azurerm_role_assignment": {"id"},
    "azurerm_key_vault_access_policy": {"id"},
}
META = {"depends_on", "count", "for_each", "provider", "lifecycle"}


def _files(example: str, fmt: str) -> dict[str, str]:
    return render(str(ROOT / "examples" / f"{example}.toml"), fmt)


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("example", EXAMPLES)
def test_export_matches_its_golden_files(example, fmt):
    files = _files(example, fmt)
    where = GOLDEN / example / fmt
    if UPDATE:
        where.mkdir(parents=True, exist_ok=True)
        for stale in where.iterdir():
            stale.unlink()
        for name, text in files.items():
            (where / name).write_text(text)
    assert where.is_dir(), f"no golden files at {where}: run with MI_WIZARD_UPDATE_GOLDEN=1 once"
    assert sorted(p.name for p in where.iterdir()) == sorted(files)
    for name, text in files.items():
        assert text == (where / name).read_text(), (
            f"{example} --format {fmt}: {name} differs from {where / name}; if the change is intended, refresh "
            "with MI_WIZARD_UPDATE_GOLDEN=1")


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("example", EXAMPLES)
def test_every_export_names_the_setup_its_api_versions_and_what_it_leaves_out(example, fmt):
    text = "\n".join(_files(example, fmt).values())
    assert f'setup "{example}"' in text
    assert "API versions:" in text and "Not covered:" in text
    for kind in ("Microsoft.ManagedIdentity/userAssignedIdentities",):
        assert f"{kind}@{API_VERSIONS[kind]}" in text


def _unquote(key: str) -> str:
    return key.strip('"')


def _check_body(where: str, body: dict[str, Any], allowed: dict[str, Any]) -> None:
    for key, value in body.items():
        if key in ("__is_block__", "__comments__") or key in META:
            continue
        assert key in allowed, f"{where}: '{key}' is not a documented argument (allowed: {sorted(allowed)})"
        nested = allowed[key]
        if isinstance(value, list) and value and all(isinstance(v, dict) and v.get("__is_block__") for v in value):
            assert nested is not None, f"{where}: '{key}' is an argument, not a block"
            for inner in value:
                _check_body(f"{where}.{key}", inner, nested)


@pytest.mark.parametrize("example", EXAMPLES)
def test_terraform_parses_and_uses_only_documented_azurerm_types_and_attributes(example):
    files = _files(example, "terraform")
    assert sorted(files) == ["main.tf", "variables.tf"]
    parsed = {name: hcl2.loads(text) for name, text in files.items()}
    main = parsed["main.tf"]
    used: set[str] = set()
    for section, known in (("resource", AZURERM_RESOURCES), ("data", AZURERM_DATA)):
        for entry in main.get(section, []):
            for kind, labelled in entry.items():
                kind = _unquote(kind)
                assert kind in known, f"{section} {kind} is not a checked azurerm type"
                used.add(kind)
                for label, body in labelled.items():
                    _check_body(f"{section} {kind}.{_unquote(label)}", body, known[kind])
    assert {"azurerm_user_assigned_identity"} <= used
    # Every attribute read from another block exists on that type.
    text = files["main.tf"]
    for kind, attr in re.findall(r"\b(azurerm_[a-z_]+)\.[a-z0-9_]+\.([a-z_]+)", text):
        readable = AZURERM_EXPORTED.get(kind, set()) | set(AZURERM_RESOURCES.get(kind, {}))
        assert attr in readable, f"{kind}.*.{attr} is not an attribute of {kind}"
    variables = {_unquote(k): v for entry in parsed["variables.tf"]["variable"] for k, v in entry.items()}
    if "secret_value" in variables:
        assert variables["secret_value"]["sensitive"] is True and variables["secret_value"]["ephemeral"] is True
        assert "default" not in variables["secret_value"]
    providers = {_unquote(k) for entry in main["provider"] for k in entry}
    assert providers == {"azurerm"}


def _sdk_versions() -> dict[str, str]:
    """What the SDK clients mi-wizard builds (wizard/azure/clients.py) send, by resource type."""
    from azure.mgmt.authorization import AuthorizationManagementClient
    from azure.mgmt.batch import BatchManagementClient
    from azure.mgmt.containerinstance import ContainerInstanceManagementClient
    from azure.mgmt.keyvault import KeyVaultManagementClient
    from azure.mgmt.msi import ManagedServiceIdentityClient
    from azure.mgmt.resource.resources import ResourceManagementClient

    class NoCredential:
        def get_token(self, *scopes: str, **kwargs: Any) -> Any:
            raise AssertionError("no call is made")

    sub = "00000000-0000-0000-0000-000000000000"

    def version(client: Any, group: str) -> str:
        operations = getattr(client, group)
        return str(getattr(operations, "api_version", None) or operations._config.api_version)

    msi = ManagedServiceIdentityClient(NoCredential(), sub)
    keyvault = KeyVaultManagementClient(NoCredential(), sub)
    return {
        "Microsoft.Resources/resourceGroups": version(ResourceManagementClient(NoCredential(), sub), "resource_groups"),
        "Microsoft.ManagedIdentity/userAssignedIdentities": version(msi, "user_assigned_identities"),
        "Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials":
            version(msi, "federated_identity_credentials"),
        "Microsoft.KeyVault/vaults": version(keyvault, "vaults"),
        "Microsoft.KeyVault/vaults/secrets": version(keyvault, "secrets"),
        "Microsoft.KeyVault/vaults/accessPolicies": version(keyvault, "vaults"),  # vaults.update_access_policy
        "Microsoft.Authorization/roleAssignments": version(AuthorizationManagementClient(NoCredential(), sub),
                                                           "role_assignments"),
        "Microsoft.ContainerInstance/containerGroups": version(ContainerInstanceManagementClient(NoCredential(), sub),
                                                               "container_groups"),
        "Microsoft.Batch/batchAccounts": version(BatchManagementClient(NoCredential(), sub), "batch_account"),
        "Microsoft.Batch/batchAccounts/pools": version(BatchManagementClient(NoCredential(), sub), "pool"),
        "Microsoft.ContainerService/managedClusters": scopes.API_VERSIONS["microsoft.containerservice/managedclusters"],
    }


def test_export_api_versions_are_the_sdk_clients():
    assert API_VERSIONS == _sdk_versions()


@pytest.mark.parametrize("example", EXAMPLES)
def test_bicep_uses_the_sdk_clients_resource_types_and_api_versions(example):
    files = _files(example, "bicep")
    sdk = _sdk_versions()
    generic = {k.lower(): v for k, v in scopes.API_VERSIONS.items()}
    found = []
    for name, text in files.items():
        for kind, version in re.findall(r"^(?:resource|module)?\s*\w+\s+'([A-Za-z.]+/[A-Za-z/]+)@([0-9-]+[a-z-]*)'",
                                        text, flags=re.MULTILINE):
            found.append(kind)
            expected = sdk.get(kind) or generic.get(kind.lower())
            assert expected is not None, f"{name}: {kind} is not a type mi-wizard's SDK clients use"
            assert version == expected, f"{name}: {kind}@{version}, but the SDK clients use {expected}"
        assert "targetScope = 'resourceGroup'" in text
    assert "Microsoft.ManagedIdentity/userAssignedIdentities" in found
    main = files["main.bicep"]
    # Role assignments: deterministic guid() names and principalType.
    for block in re.findall(r"'Microsoft\.Authorization/roleAssignments@[^']+' = \{(.*?)\n\}", "\n".join(
            files.values()), flags=re.DOTALL):
        assert re.search(r"^  name: guid\(", block, flags=re.MULTILINE), block
        assert "principalType: 'ServicePrincipal'" in block
    if "secretValue" in main:
        assert "@secure()\n@description(" in main and "\nparam secretValue string\n" in main


@pytest.mark.parametrize("example", EXAMPLES)
def test_the_secret_is_only_a_parameter_variable_or_environment_reference(example):
    bicep = "\n".join(_files(example, "bicep").values())
    terraform = _files(example, "terraform")
    script = _files(example, "az")["setup.sh"]
    uses_vault = "param secretValue string" in bicep
    # Bicep: the secure parameter, read in one place: the secret's value.
    assert [line.strip() for line in bicep.splitlines() if re.search(r"\bsecretValue\b", line)
            and not line.lstrip().startswith("//")] == (
        ["param secretValue string", "value: secretValue"] if uses_vault else [])
    # Terraform: the sensitive variable, read in one place: the write-only value.
    assert [line.strip() for line in terraform["main.tf"].splitlines() if "var.secret_value" in line
            and "version" not in line] == (["value_wo = var.secret_value"] if uses_vault else [])
    assert "var.secret_value" not in terraform["main.tf"].replace("value_wo = var.secret_value\n", "").replace(
        "value_wo_version = var.secret_value_version\n", "")
    # az: only the environment variable or the file, inside secret_body (never on a command line).
    body = script[script.index("secret_body() {"):script.index("\n}\n", script.index("secret_body() {"))]
    outside = "\n".join(line for line in script.replace(body, "").splitlines() if not line.startswith("#"))
    assert not re.search(rf"\$\{{?{SECRET_ENV}\b(?!_)", outside), "the value is read outside secret_body"
    assert re.search(r"^\s*secret_body$", outside, flags=re.MULTILINE) or not uses_vault
    assert "--value" not in script and "secret set" not in script


def test_the_script_waits_out_a_403_visibly_then_goes_on(tmp_path):
    script = _files("prefect-aci", "az")["setup.sh"]
    helpers = script[script.index("say() {"):script.index("az account set")]
    fake = tmp_path / "flaky"
    fake.write_text('#!/bin/bash\nn=$(cat "$0.count" 2>/dev/null || echo 0); echo $((n + 1)) > "$0.count"\n'
                    'if (( n < 2 )); then echo "ERROR: (Forbidden) Caller is not authorized (403)" >&2; exit 1; fi\n'
                    'echo ok\n')
    fake.chmod(0o755)
    run = subprocess.run(["bash", "-c", f"set -euo pipefail\nWAIT_LIMIT_S=60\nWAIT_STEP_S=0\n{helpers}\nretry {fake}"],
                         capture_output=True, text=True, timeout=30)
    assert run.returncode == 0, run.stderr
    assert run.stdout == "ok\n"
    assert run.stderr.count("waiting for the new grant to take effect (403 Forbidden)") == 2


def test_export_writes_files_into_a_directory_and_refuses_a_bad_source(tmp_path, capsys):
    class Args:
        source = str(ROOT / "examples" / "prefect-aci.toml")
        format = "az"
        out = tmp_path / "out"

    assert cmd_export(Args()) == 0
    script = tmp_path / "out" / "setup.sh"
    assert script.stat().st_mode & 0o111
    Args.source, Args.out = str(tmp_path / "missing.toml"), None
    assert cmd_export(Args()) == 2
    assert "No spec file" in capsys.readouterr().err
