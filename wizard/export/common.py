"""What every export needs from a setup: its spec, what the state knows of it (outputs), the grants and
federated credentials it makes, the API versions it uses and what an export does not cover.

An export never holds the secret's value: the spec has none and the state keeps only its version id. The value
is a parameter (Bicep), a variable (Terraform) or an environment variable / file (the az script).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..azure import roles, scopes
from ..spec import Spec, load_spec
from ..targets.aci import AciTarget
from ..targets.aks import AksTarget
from ..targets.batch import BatchTarget
from ..targets.github import GithubTarget

SECRET_ENV = "MI_WIZARD_SECRET"
"""The az script reads the secret's value from this environment variable ..."""
SECRET_FILE_ENV = "MI_WIZARD_SECRET_FILE"
"""... or from the file this one names."""
CREATED_BY = "mi-wizard"

API_VERSIONS: dict[str, str] = {
    "Microsoft.Resources/resourceGroups": "2025-04-01",
    "Microsoft.ManagedIdentity/userAssignedIdentities":
        scopes.API_VERSIONS["microsoft.managedidentity/userassignedidentities"],
    "Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials":
        scopes.API_VERSIONS["microsoft.managedidentity/userassignedidentities"],
    "Microsoft.KeyVault/vaults": "2026-05-15",
    "Microsoft.KeyVault/vaults/secrets": "2026-05-15",
    "Microsoft.KeyVault/vaults/accessPolicies": "2026-05-15",
    "Microsoft.Authorization/roleAssignments": "2022-04-01",
    "Microsoft.ContainerInstance/containerGroups": scopes.API_VERSIONS["microsoft.containerinstance/containergroups"],
    "Microsoft.Batch/batchAccounts": scopes.API_VERSIONS["microsoft.batch/batchaccounts"],
    "Microsoft.Batch/batchAccounts/pools": scopes.API_VERSIONS["microsoft.batch/batchaccounts/pools"],
    "Microsoft.ContainerService/managedClusters": scopes.API_VERSIONS["microsoft.containerservice/managedclusters"],
}
"""The API version of each type, as the SDK clients mi-wizard uses send it (their default API versions, and
wizard/azure/scopes.py for the generic reads); tests/unit/test_export.py checks them against the SDKs."""

_GUID = re.compile(r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")


class ExportError(ValueError):
    """A source that cannot be exported, with what is wrong and how to fix it."""


@dataclass
class Source:
    """A setup to export: its spec and, when it came from a state file, what its steps recorded."""

    spec: Spec
    origin: str
    """What it was read from: a spec file, or a setup's state file."""
    outputs: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def subscription_id(self) -> str:
        """The subscription's id when it is known (a GUID in the spec, or from a recorded resource id), else ""."""
        if _GUID.match(self.spec.subscription):
            return self.spec.subscription
        for step in ("identity", "vault", "aci", "batch"):
            rid = str(self.outputs.get(step, {}).get("id", ""))
            if rid.lower().startswith("/subscriptions/"):
                return rid.split("/")[2]
        return ""


def load_source(ref: str) -> Source:
    """A spec TOML, a state file (.json) or a setup's name (its state file in the state directory)."""
    path = Path(ref)
    if path.suffix == ".toml":
        return Source(load_spec(path), path.name)
    from ..state import StateError
    from ..state_store import StateStore
    try:
        store = StateStore(path) if path.suffix == ".json" or path.exists() else StateStore.for_setup(ref)
        state = store.load()
    except (StateError, ValueError) as err:
        raise ExportError(f"{err}") from None
    spec = Spec.from_dict(state.spec, source=str(store.path))
    outputs = {step: dict(record.outputs) for step, record in state.steps.items()}
    return Source(spec, f"the state of setup {state.name}", outputs)


@dataclass(frozen=True)
class RoleGrant:
    """A role assignment the setup makes for its identity."""

    role: str
    role_guid: str
    scope: str
    """"secret" or "vault" (the setup's own), else a scope id: "/subscriptions/..." or "resourceGroups/..."."""
    note: str = ""


def role_grants(spec: Spec) -> list[RoleGrant]:
    """Key Vault Secrets User at the secret's (or vault's) scope on an RBAC vault, then every extra grant."""
    out: list[RoleGrant] = []
    if spec.uses_vault and spec.vault.access_model == "rbac":
        out.append(RoleGrant(roles.SECRETS_USER.name, roles.SECRETS_USER.guid, spec.grant.scope,
                             "read the setup's secret"))
    for extra in spec.extra_grants():
        role = roles.find(extra.role)
        if role is None:
            raise ExportError(f"grant_extra: '{extra.role}' is not in mi-wizard's list of roles (its GUID is not "
                              "known without Azure): export a setup that uses a listed role, or add it by hand.")
        out.append(RoleGrant(role.name, role.guid, extra.scope.strip().rstrip("/"), extra.note))
    return out


def policy_permissions(spec: Spec) -> list[str]:
    return ["get", "list"] if spec.grant.allow_list else ["get"]


@dataclass(frozen=True)
class Federation:
    """A federated credential on the identity. `cluster` set: the issuer is that AKS cluster's OIDC issuer."""

    name: str
    subject: str
    audience: str
    issuer: str = ""
    cluster: str = ""
    cluster_group: str = ""


def federations(spec: Spec) -> list[Federation]:
    target = spec.target
    if isinstance(target, AksTarget):
        return [Federation(target.name, target.subject, target.audience, target.issuer,
                           "" if target.issuer else target.cluster, spec.target_group)]
    if isinstance(target, GithubTarget):
        return [Federation(c.credential_name(target.repository), target.subject(c), target.audience,
                           target.effective_issuer) for c in target.credentials]
    return []


def split_scope(scope: str) -> scopes.ScopeInfo:
    """An extra grant's scope as parts; relative scopes get the placeholder subscription "SUBSCRIPTION"."""
    try:
        return scopes.parse(scopes.resolve(scope, "00000000-0000-0000-0000-000000000000"))
    except ValueError as err:
        raise ExportError(f"grant_extra.scope: {err}") from None


def relative(scope: str) -> bool:
    return not scope.lower().startswith("/subscriptions/")


def tags(spec: Spec) -> dict[str, str]:
    return {"created-by": CREATED_BY, "mi-wizard-setup": spec.name}


def summary(spec: Spec) -> list[str]:
    """What the export makes, one line each."""
    lines = [f"resource group {spec.resource_group} ({spec.location})"]
    lines.append(f"identity {spec.identity.name}" + (" (existing: only read)" if spec.identity.existing else ""))
    if spec.uses_vault:
        model = "Azure RBAC" if spec.vault.access_model == "rbac" else "access policies"
        lines.append(f"vault {spec.vault.name} ({model}) and its secret {spec.secret.name}")
        lines.append(f"read grant: Key Vault Secrets User on the {spec.grant.scope}" if spec.vault.access_model ==
                     "rbac" else f"read grant: an access policy ({', '.join(policy_permissions(spec))})")
    for grant in role_grants(spec)[1 if spec.uses_vault and spec.vault.access_model == "rbac" else 0:]:
        lines.append(f"grant: {grant.role} on {grant.scope}")
    target = spec.target
    if isinstance(target, AciTarget):
        lines.append(f"container group {target.container_group} with the identity and AZURE_CLIENT_ID"
                     + (" (existing)" if target.existing else ""))
    if isinstance(target, BatchTarget):
        lines.append(f"Batch pool {target.pool} in account {target.account} with the identity"
                     + (" (existing: the identity is added)" if target.existing else ""))
    lines += [f"federated credential {f.name}: {f.subject}" for f in federations(spec)]
    return lines


def not_covered(spec: Spec, fmt: str) -> list[str]:
    """What this export leaves out, so nobody believes it does more than it does."""
    out = []
    target = spec.target
    if spec.uses_vault and target.kind in ("aci", "batch"):
        out.append("the live probe (the target reading the secret with the identity): run `mi-wizard verify` or "
                   "`mi-wizard doctor` after it")
    if isinstance(target, BatchTarget):
        if target.existing and fmt != "az":
            out.append(f"adding the identity to the existing pool {target.pool} (a PATCH of its identity map, which "
                       "a template would have to restate in full): use the az export or `mi-wizard apply`")
        if target.rescale_for_identity or target.existing:
            out.append("the pool's scale to 0 and back so that running nodes get the identity (rescale_for_identity)"
                       ": nodes keep the identities they booted with; rescale the pool when it is idle")
    if isinstance(target, AciTarget) and target.existing:
        out.append(f"re-deploying the existing container group {target.container_group} with the identity (a full "
                   "PUT that restates the group): use `mi-wizard apply`")
    if isinstance(target, AksTarget):
        out.append("the Kubernetes ServiceAccount and the pod label (`mi-wizard apply` prints them)")
    if isinstance(target, GithubTarget):
        out.append("the GitHub workflow (permissions id-token: write, azure/login; `mi-wizard apply` prints it)")
    if spec.uses_vault:
        if spec.vault.secret_write == "data_plane":
            out.append("vault.secret_write = \"data_plane\": the secret is written through ARM here")
        if spec.vault.if_soft_deleted != "recover" or fmt != "az":
            out.append("a vault name held by a soft-deleted vault (recover or purge it first)")
        # Deleted secrets are seen only through the data plane, which the ARM write here needs no role for.
        how = "purge" if spec.secret.if_soft_deleted == "purge" else "recover"
        out.append(f"a secret name held by a soft-deleted secret ({how} it first: `az keyvault secret {how} "
                   f"--vault-name {spec.vault.name} --name {spec.secret.name}`)")
        out.append("adopting a vault that exists already: " + ("it is used as it is" if fmt == "az" else
                                                               "a deployment would restate its properties"))
    out.append("verification: run `mi-wizard doctor --identity ID ...` on what it made")
    return out


def header_lines(source: Source, fmt: str, api_versions: list[str]) -> list[str]:
    """The comment every export starts with: the setup, where it came from, API versions, what it leaves out."""
    spec = source.spec
    lines = [f"mi-wizard export --format {fmt}: setup \"{spec.name}\" (from {source.origin}).",
             "It makes:"]
    lines += [f"  - {line}" for line in summary(spec)]
    lines.append("API versions:")
    lines += [f"  - {t}@{API_VERSIONS[t]}" for t in api_versions]
    lines.append("Not covered:")
    lines += [f"  - {line}" for line in not_covered(spec, fmt)]
    lines.append("It holds no secret value" + (f": the secret comes from ${SECRET_ENV} or the file ${SECRET_FILE_ENV}."
                                               if fmt == "az" else ": the secret is a secure parameter/variable."
                                               if spec.uses_vault else "."))
    return lines


def used_types(spec: Spec) -> list[str]:
    """The API types this setup's export touches, in a stable order."""
    out = ["Microsoft.Resources/resourceGroups", "Microsoft.ManagedIdentity/userAssignedIdentities"]
    if spec.uses_vault:
        out += ["Microsoft.KeyVault/vaults", "Microsoft.KeyVault/vaults/secrets"]
        if spec.vault.access_model != "rbac":
            out.append("Microsoft.KeyVault/vaults/accessPolicies")
    if role_grants(spec):
        out.append("Microsoft.Authorization/roleAssignments")
    if isinstance(spec.target, AciTarget):
        out.append("Microsoft.ContainerInstance/containerGroups")
    if isinstance(spec.target, BatchTarget):
        out.append("Microsoft.Batch/batchAccounts/pools")
    if federations(spec):
        out.append("Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials")
    if any(f.cluster for f in federations(spec)):
        out.append("Microsoft.ContainerService/managedClusters")
    return out


def check_exportable(spec: Spec) -> None:
    problems = [p for p in spec.validate() if not p.startswith("subscription")]
    if problems:
        raise ExportError("the spec has problems; fix them first:\n" + "\n".join(f"  - {p}" for p in problems))

