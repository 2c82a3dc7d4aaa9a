"""GitHub Actions as a target (OIDC sign-in): federated credentials trust GitHub's tokens for one repository and
a branch, environment, tag or pull requests each, so workflow runs sign in as the identity with no stored
secret; optionally the identity gets a role on the resource group the workflow deploys to."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..spec_workloads import GITHUB_ISSUER, MAX_FEDERATED_CREDENTIALS, TOKEN_EXCHANGE_AUDIENCE, ExtraGrantSpec
from . import TargetKind, TargetSpec, register
from .aks import credential_name

if TYPE_CHECKING:
    from ..spec import Spec
    from ..state import State
    from ..steps.base import Step
    from ..verify import Target

ENTITIES = ("branch", "environment", "tag", "pull_request")
_GITHUB_REPO = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})/[A-Za-z0-9._-]{1,100}$")


@dataclass
class GithubCredential:
    """One federated credential: exactly one of branch, environment, tag or pull_request."""

    branch: str = ""
    environment: str = ""
    tag: str = ""
    pull_request: bool = False
    name: str = ""
    """The credential's name on the identity; empty: derived from the repository and the subject."""

    @property
    def entity(self) -> str:
        """Which of branch / environment / tag / pull_request the subject names ("+"-joined when several)."""
        chosen = [k for k in ("branch", "environment", "tag") if getattr(self, k)]
        return "+".join(chosen + (["pull_request"] if self.pull_request else []))

    def subject(self, repository: str) -> str:
        """The token subject exactly as GitHub writes it (Entra ID compares it verbatim)."""
        repo = f"repo:{repository}"
        if self.branch:
            return f"{repo}:ref:refs/heads/{self.branch}"
        if self.tag:
            return f"{repo}:ref:refs/tags/{self.tag}"
        if self.environment:
            return f"{repo}:environment:{self.environment}"
        return f"{repo}:pull_request"

    def credential_name(self, repository: str) -> str:
        if self.name:
            return self.name
        what = self.entity.split("+")[0] if self.entity else ""
        value = getattr(self, what, "") if what and what != "pull_request" else ""
        return credential_name(f"github-{repository.replace('/', '-')}-{what.replace('_', '-')}"
                               + (f"-{value}" if value else ""))


@dataclass
class GithubTarget(TargetSpec):
    kind: str = "github"
    repository: str = ""
    """ORGANISATION/REPOSITORY."""
    credentials: list[GithubCredential] = field(default_factory=list, metadata={"item": GithubCredential})
    """`[[target.credentials]]`: which workflow runs may sign in, one credential each."""
    issuer: str = ""
    """Empty: GitHub's (https://token.actions.githubusercontent.com); GitHub Enterprise Server: its own."""
    audience: str = TOKEN_EXCHANGE_AUDIENCE
    runner_resource_group: str = ""
    """With runner_role: a role for the identity on the resource group the workflow deploys to."""
    runner_role: str = ""

    @property
    def effective_issuer(self) -> str:
        return self.issuer or GITHUB_ISSUER


def github_target(spec: Spec) -> GithubTarget:
    assert isinstance(spec.target, GithubTarget), f"not a GitHub target: {spec.target.kind}"
    return spec.target


def github_problems(target: GithubTarget) -> list[str]:
    from ..azure import names
    problems: list[str] = []
    if not _GITHUB_REPO.match(target.repository or ""):
        problems.append(f"target.repository: '{target.repository}' is not ORGANISATION/REPOSITORY (e.g. "
                        "\"contoso/infra\").")
    if not target.credentials:
        problems.append("target.credentials: add at least one ([[target.credentials]] with branch = \"main\", "
                        "environment, tag or pull_request = true): it decides which workflow runs may sign in.")
    if len(target.credentials) > MAX_FEDERATED_CREDENTIALS:
        problems.append(f"target.credentials: {len(target.credentials)} credentials; Azure allows at most "
                        f"{MAX_FEDERATED_CREDENTIALS} per identity. Use another identity for the rest.")
    seen_names: dict[str, int] = {}
    seen_subjects: dict[str, int] = {}
    for n, cred in enumerate(target.credentials):
        label = f"target.credentials[{n}]"
        chosen = cred.entity.split("+") if cred.entity else []
        if len(chosen) != 1:
            problems.append(f"{label}: set exactly one of branch, environment, tag or pull_request = true (it decides "
                            f"which workflow runs may sign in){'; found ' + ', '.join(chosen) if chosen else ''}.")
        for key in ("branch", "environment", "tag"):
            if "*" in getattr(cred, key):
                problems.append(f"{label}.{key}: '{getattr(cred, key)}' has a wildcard; federated credentials match "
                                "the subject exactly. Add one credential per branch, tag or environment.")
        name = cred.credential_name(target.repository)
        message = names.validate_federated_credential_name(name)
        if message:
            problems.append(f"{label}.name: {message}")
        if name.lower() in seen_names:
            problems.append(f"{label}.name: '{name}' is also the name of target.credentials[{seen_names[name.lower()]}]"
                            "; give each credential its own name.")
        seen_names.setdefault(name.lower(), n)
        subject = cred.subject(target.repository)
        if subject in seen_subjects:
            problems.append(f"{label}: the same subject as target.credentials[{seen_subjects[subject]}] ({subject}); "
                            "Azure refuses two credentials with one issuer and subject.")
        seen_subjects.setdefault(subject, n)
    if not target.audience:
        problems.append(f"target.audience: empty; use \"{TOKEN_EXCHANGE_AUDIENCE}\" (the default).")
    if target.issuer and not target.issuer.startswith("https://"):
        problems.append(f"target.issuer: '{target.issuer}' must be an https URL.")
    if bool(target.runner_role) != bool(target.runner_resource_group):
        problems.append("target: runner_role and runner_resource_group go together (the role the workflow gets on "
                        "the resource group it deploys to).")
    elif target.runner_resource_group:
        message = names.validate_resource_group_name(target.runner_resource_group)
        if message:
            problems.append(f"target.runner_resource_group: {message}")
    return problems


class GithubKind(TargetKind):
    kind = "github"
    label = "GitHub"
    title = "GitHub Actions OIDC"
    spec_type = GithubTarget
    example = "github-oidc"
    details = "target_github:GithubScreen"
    choices = (("github", "GitHub Actions: OIDC sign-in (a federated credential, no compute here)"),)
    choice_note = ("Workflow runs sign in as the identity through a federated credential that trusts GitHub's OIDC "
                   "tokens for one repository and branch, environment, tag or pull requests: choose them next.")

    def steps(self) -> tuple[type[Step], ...]:
        from .github_steps import GithubStep
        return (GithubStep,)

    def problems(self, spec: Spec) -> list[str]:
        return github_problems(github_target(spec))

    def implied_grants(self, spec: Spec) -> list[ExtraGrantSpec]:
        target = github_target(spec)
        if not target.runner_role:
            return []
        return [ExtraGrantSpec(role=target.runner_role, scope=f"resourceGroups/{target.runner_resource_group}",
                               note=f"the GitHub Actions runner of {target.repository}")]

    def describe(self, target: dict[str, Any]) -> str:
        return f"{self.label} {target.get('repository', '')}".strip()

    def fill_verify_target(self, state: State, target: Target) -> None:
        target.federations = [dict(c) for c in state.step("github").outputs.get("credentials", [])]

    def next_steps(self, spec: dict[str, Any], outputs: dict[str, dict[str, Any]], identity: dict[str, Any],
                   secret_uri: str) -> str:
        from .github_snippet import github_section
        credentials = (outputs.get("github") or {}).get("credentials", [])
        return github_section(identity, credentials) if credentials else ""


register(GithubKind())
