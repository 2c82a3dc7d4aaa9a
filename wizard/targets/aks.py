"""AKS pods as a target (workload identity): a federated credential trusts the cluster's OIDC issuer for one
service account, so pods sign in as the identity with their projected token. mi-wizard attaches nothing to the
cluster; it reads the cluster's issuer through ARM and prints the ServiceAccount manifest and the pod label."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..spec_workloads import TOKEN_EXCHANGE_AUDIENCE
from . import TargetKind, TargetSpec, register

if TYPE_CHECKING:
    from ..spec import Spec
    from ..state import State
    from ..steps.base import Step
    from ..verify import Target

# Kubernetes: namespaces are DNS-1123 labels, service accounts DNS-1123 subdomains.
_K8S_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
_K8S_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$")


@dataclass
class AksTarget(TargetSpec):
    kind: str = "aks"
    cluster: str = ""
    """The AKS cluster (in `resource_group`, default the setup's); its OIDC issuer is read through ARM."""
    issuer: str = ""
    """Empty: the cluster's issuer. Typed: a cluster mi-wizard cannot read (then `cluster` may be empty)."""
    namespace: str = "default"
    service_account: str = ""
    audience: str = TOKEN_EXCHANGE_AUDIENCE
    credential_name: str = ""
    """The federated credential's name on the identity; empty: derived from the cluster and service account."""

    @property
    def subject(self) -> str:
        """The token subject exactly as AKS writes it (Entra ID compares it verbatim)."""
        return aks_subject(self.namespace, self.service_account)

    @property
    def name(self) -> str:
        return self.credential_name or credential_name(
            f"aks-{self.cluster or 'cluster'}-{self.namespace}-{self.service_account}")


def aks_subject(namespace: str, service_account: str) -> str:
    return f"system:serviceaccount:{namespace}:{service_account}"


def credential_name(raw: str) -> str:
    """A valid federated credential name from any text (letters, digits, '-' and '_'; at most 120)."""
    cleaned = re.sub(r"-{2,}", "-", re.sub(r"[^A-Za-z0-9_-]", "-", raw)).strip("-_")
    return cleaned[:120].rstrip("-_")


def aks_target(spec: Spec) -> AksTarget:
    assert isinstance(spec.target, AksTarget), f"not an AKS target: {spec.target.kind}"
    return spec.target


def aks_problems(target: AksTarget, label: str = "target") -> list[str]:
    from ..azure import names
    problems: list[str] = []
    if not target.cluster and not target.issuer:
        problems.append(f"{label}: name the AKS cluster (cluster = \"...\", read through ARM) or type its OIDC "
                        "issuer URL (issuer = \"https://...\"; `az aks show --query oidcIssuerProfile.issuerUrl`).")
    if target.issuer and not target.issuer.startswith("https://"):
        problems.append(f"{label}.issuer: '{target.issuer}' must be an https URL.")
    if not _K8S_LABEL.match(target.namespace or ""):
        problems.append(f"{label}.namespace: '{target.namespace}' is not a Kubernetes namespace name (lower-case "
                        "letters, digits and '-', at most 63).")
    if not _K8S_SUBDOMAIN.match(target.service_account or ""):
        problems.append(f"{label}.service_account: '{target.service_account}' is not a Kubernetes service account "
                        "name (lower-case letters, digits, '-' and '.').")
    if not target.audience:
        problems.append(f"{label}.audience: empty; use \"{TOKEN_EXCHANGE_AUDIENCE}\" (the default).")
    message = names.validate_federated_credential_name(target.name)
    if message:
        problems.append(f"{label}.credential_name: {message}")
    return problems


class AksKind(TargetKind):
    kind = "aks"
    label = "AKS"
    title = "AKS workload identity"
    spec_type = AksTarget
    example = "aks-workload-identity"
    choices = (("aks", "AKS pods: workload identity (a federated credential, no compute here)"),)
    choice_note = ("Pods sign in as the identity through a federated credential that trusts the cluster's OIDC "
                   "issuer for one service account: choose the cluster next.")

    def steps(self) -> tuple[type[Step], ...]:
        from .aks_steps import AksStep
        return (AksStep,)

    def problems(self, spec: Spec) -> list[str]:
        return aks_problems(aks_target(spec))

    def describe(self, target: dict[str, Any]) -> str:
        return f"{self.label} {target.get('cluster', '')}".strip()

    def fill_verify_target(self, state: State, target: Target) -> None:
        target.federations = [dict(c) for c in state.step("aks").outputs.get("credentials", [])]

    def next_steps(self, spec: dict[str, Any], outputs: dict[str, dict[str, Any]], identity: dict[str, Any],
                   secret_uri: str) -> str:
        return "\n\n".join(aks_section(identity, c, secret_uri)
                           for c in (outputs.get("aks") or {}).get("credentials", []))


def aks_section(identity: dict[str, Any], credential: dict[str, Any], secret_uri: str) -> str:
    namespace, account = credential.get("namespace", "default"), credential.get("service_account", "")
    text = (f"AKS workload identity ({credential.get('name')}: {credential.get('subject')})\n"
            "  Apply this ServiceAccount (kubectl apply -f sa.yaml):\n\n"
            "    apiVersion: v1\n"
            "    kind: ServiceAccount\n"
            "    metadata:\n"
            f"      name: {account}\n"
            f"      namespace: {namespace}\n"
            "      annotations:\n"
            f"        azure.workload.identity/client-id: \"{identity['client_id']}\"\n\n"
            "  and give each pod that uses it this label and service account (in the pod template):\n\n"
            "    metadata:\n"
            "      labels:\n"
            "        azure.workload.identity/use: \"true\"\n"
            "    spec:\n"
            f"      serviceAccountName: {account}\n\n"
            "  The webhook then injects AZURE_CLIENT_ID, AZURE_TENANT_ID and AZURE_FEDERATED_TOKEN_FILE;\n"
            "  DefaultAzureCredential() (or WorkloadIdentityCredential()) uses them.")
    if secret_uri:
        vault_url, _, name = secret_uri.partition("/secrets/")
        text += ("\n\n    from azure.identity import DefaultAzureCredential\n"
                 "    from azure.keyvault.secrets import SecretClient\n\n"
                 f"    value = SecretClient({vault_url + '/'!r}, DefaultAzureCredential()).get_secret({name!r}).value")
    return text


register(AksKind())
