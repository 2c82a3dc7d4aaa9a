"""Validation of the spec's workload parts (Batch target, federations, extra grants): each problem says what is
wrong and how to fix it. Only what can be known without Azure; the plan checks the rest (scopes exist, etc.)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from .azure import names

if TYPE_CHECKING:
    from .spec import Spec
    from .spec_workloads import FederationSpec

# Kubernetes: namespaces are DNS-1123 labels, service accounts DNS-1123 subdomains.
_K8S_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
_K8S_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$")
_GITHUB_REPO = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})/[A-Za-z0-9._-]{1,100}$")


def federation_problems(spec: Spec) -> list[str]:
    from .spec_workloads import FEDERATION_KINDS, MAX_FEDERATED_CREDENTIALS
    problems: list[str] = []
    seen_names: dict[str, int] = {}
    seen_subjects: dict[tuple[str, str], int] = {}
    if len(spec.federation) > MAX_FEDERATED_CREDENTIALS:
        problems.append(f"federation: {len(spec.federation)} credentials; Azure allows at most "
                        f"{MAX_FEDERATED_CREDENTIALS} per identity. Use another identity for the rest.")
    for n, fed in enumerate(spec.federation):
        label = f"federation[{n}]"
        if fed.kind not in FEDERATION_KINDS:
            problems.append(f"{label}.kind: '{fed.kind}' is not one of {', '.join(FEDERATION_KINDS)}.")
            continue
        problems += (_aks_problems if fed.kind == "aks" else _github_problems)(fed, label)
        name = fed.credential_name
        message = names.validate_federated_credential_name(name)
        if message:
            problems.append(f"{label}.name: {message}")
        if name.lower() in seen_names:
            problems.append(f"{label}.name: '{name}' is also the name of federation[{seen_names[name.lower()]}]; "
                            "give each credential its own name.")
        seen_names.setdefault(name.lower(), n)
        key = (fed.issuer or fed.cluster, fed.subject)
        if key in seen_subjects:
            problems.append(f"{label}: the same subject as federation[{seen_subjects[key]}] ({fed.subject}); "
                            "Azure refuses two credentials with one issuer and subject.")
        seen_subjects.setdefault(key, n)
        if not fed.audience:
            problems.append(f"{label}.audience: empty; use \"api://AzureADTokenExchange\" (the default).")
        if fed.issuer and not fed.issuer.startswith("https://"):
            problems.append(f"{label}.issuer: '{fed.issuer}' must be an https URL.")
    return problems


def _aks_problems(fed: FederationSpec, label: str) -> list[str]:
    problems: list[str] = []
    if not fed.cluster and not fed.issuer:
        problems.append(f"{label}: name the AKS cluster (cluster = \"...\", read through ARM) or type its OIDC "
                        "issuer URL (issuer = \"https://...\"; `az aks show --query oidcIssuerProfile.issuerUrl`).")
    if not _K8S_LABEL.match(fed.namespace or ""):
        problems.append(f"{label}.namespace: '{fed.namespace}' is not a Kubernetes namespace name (lower-case "
                        "letters, digits and '-', at most 63).")
    if not _K8S_SUBDOMAIN.match(fed.service_account or ""):
        problems.append(f"{label}.service_account: '{fed.service_account}' is not a Kubernetes service account "
                        "name (lower-case letters, digits, '-' and '.').")
    if fed.repository or fed.branch or fed.environment or fed.tag or fed.pull_request or fed.runner_role:
        problems.append(f"{label}: repository/branch/environment/tag/pull_request/runner_role are for "
                        "kind = \"github\".")
    return problems


def _github_problems(fed: FederationSpec, label: str) -> list[str]:
    problems: list[str] = []
    if not _GITHUB_REPO.match(fed.repository or ""):
        problems.append(f"{label}.repository: '{fed.repository}' is not ORGANISATION/REPOSITORY (e.g. "
                        "\"contoso/infra\").")
    chosen = [k for k in ("branch", "environment", "tag") if getattr(fed, k)] + (
        ["pull_request"] if fed.pull_request else [])
    if len(chosen) != 1:
        problems.append(f"{label}: set exactly one of branch, environment, tag or pull_request = true (it decides "
                        f"which workflow runs may sign in){'; found ' + ', '.join(chosen) if chosen else ''}.")
    for key in ("branch", "environment", "tag"):
        if "*" in getattr(fed, key):
            problems.append(f"{label}.{key}: '{getattr(fed, key)}' has a wildcard; federated credentials match the "
                            "subject exactly. Add one credential per branch, tag or environment.")
    if bool(fed.runner_role) != bool(fed.runner_resource_group):
        problems.append(f"{label}: runner_role and runner_resource_group go together (the role the workflow gets "
                        "on the runner's resource group).")
    elif fed.runner_resource_group:
        message = names.validate_resource_group_name(fed.runner_resource_group)
        if message:
            problems.append(f"{label}.runner_resource_group: {message}")
    if fed.cluster or fed.service_account:
        problems.append(f"{label}: cluster/service_account are for kind = \"aks\".")
    return problems


def grant_problems(spec: Spec) -> list[str]:
    from .azure import roles
    problems: list[str] = []
    for n, grant in enumerate(spec.grant_extra):
        label = f"grant_extra[{n}]"
        if not grant.role:
            problems.append(f"{label}.role: choose a role, e.g. \"Storage Blob Data Reader\" ({roles.curated_names()}).")
        elif roles.find(grant.role) is None and not grant.allow_any_role:
            problems.append(f"{label}.role: '{grant.role}' is not in mi-wizard's least-privilege list "
                            f"({roles.curated_names()}). Pick one of those, or set allow_any_role = true once you "
                            "have checked what the role allows.")
        if not grant.scope:
            problems.append(f"{label}.scope: give the resource id (/subscriptions/.../providers/... or "
                            "resourceGroups/RG/providers/...).")
        elif not (grant.scope.startswith("/subscriptions/") or grant.scope.lower().lstrip("/").startswith(
                "resourcegroups/")):
            problems.append(f"{label}.scope: '{grant.scope}' is neither a full resource id (/subscriptions/...) nor "
                            "relative to the setup's subscription (resourceGroups/...).")
    return problems
