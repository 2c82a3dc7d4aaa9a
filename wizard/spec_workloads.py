"""The spec's workload parts beyond the target: federated credentials and grants on other resources.

Kept apart from spec.py (which re-exports them) so each module stays small; validation is in spec_rules.py.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

FEDERATION_KINDS = ("aks", "github")
GITHUB_ISSUER = "https://token.actions.githubusercontent.com"
TOKEN_EXCHANGE_AUDIENCE = "api://AzureADTokenExchange"
MAX_FEDERATED_CREDENTIALS = 20
"""Azure's limit per user-assigned identity."""


@dataclass
class FederationSpec:
    """A federated identity credential: an outside workload (an AKS pod, a GitHub Actions job) exchanges its
    own OIDC token for a token of the identity, with no secret stored anywhere."""

    kind: str = "aks"
    """aks or github."""
    name: str = ""
    """The credential's name on the identity; empty: derived from the subject."""
    issuer: str = ""
    """aks: empty reads the cluster's OIDC issuer through ARM; github: empty is GitHub's issuer."""
    audience: str = TOKEN_EXCHANGE_AUDIENCE
    # aks
    cluster: str = ""
    cluster_resource_group: str = ""
    """Defaults to the setup's resource group."""
    namespace: str = "default"
    service_account: str = ""
    # github: exactly one of branch, environment, tag, pull_request
    repository: str = ""
    """ORGANISATION/REPOSITORY."""
    branch: str = ""
    environment: str = ""
    tag: str = ""
    pull_request: bool = False
    runner_resource_group: str = ""
    """With runner_role: a role for the identity on the runner's resource group."""
    runner_role: str = ""

    @property
    def entity(self) -> str:
        """github: which of branch / environment / tag / pull_request the subject names."""
        chosen = [k for k in ("branch", "environment", "tag") if getattr(self, k)]
        return "+".join(chosen + (["pull_request"] if self.pull_request else []))

    @property
    def subject(self) -> str:
        """The token subject exactly as AKS or GitHub writes it (Entra ID compares it verbatim)."""
        if self.kind == "aks":
            return f"system:serviceaccount:{self.namespace}:{self.service_account}"
        repo = f"repo:{self.repository}"
        if self.branch:
            return f"{repo}:ref:refs/heads/{self.branch}"
        if self.tag:
            return f"{repo}:ref:refs/tags/{self.tag}"
        if self.environment:
            return f"{repo}:environment:{self.environment}"
        return f"{repo}:pull_request"

    @property
    def credential_name(self) -> str:
        if self.name:
            return self.name
        if self.kind == "aks":
            raw = f"aks-{self.cluster or 'cluster'}-{self.namespace}-{self.service_account}"
        else:
            what = self.entity.split("+")[0] if self.entity else ""
            value = getattr(self, what, "") if what and what != "pull_request" else ""
            raw = f"github-{self.repository.replace('/', '-')}-{what.replace('_', '-')}" + (f"-{value}" if value else "")
        cleaned = re.sub(r"-{2,}", "-", re.sub(r"[^A-Za-z0-9_-]", "-", raw)).strip("-_")
        return cleaned[:120].rstrip("-_")


@dataclass
class ExtraGrantSpec:
    """A role for the identity on another resource (a storage container, a registry, another vault's secret)."""

    role: str = ""
    """A role from mi-wizard's curated least-privilege list (see `mi-wizard roles`), by name."""
    scope: str = ""
    """The resource's id: /subscriptions/... or relative to the setup's subscription (resourceGroups/...)."""
    note: str = ""
    """Why the grant exists (kept in the state and shown by verify)."""
    allow_any_role: bool = False
    """True: accept a role outside the curated list (you have checked what it allows)."""
