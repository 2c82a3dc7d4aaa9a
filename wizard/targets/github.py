"""GitHub Actions as a target (OIDC sign-in): federated credentials trust GitHub's tokens for one repository and
a branch, environment, tag or pull requests each, so workflow runs sign in as the identity with no stored
secret; optionally the identity gets a role on the resource group the workflow deploys to."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..spec_workloads import GITHUB_ISSUER, MAX_FEDERATED_CREDENTIALS, TOKEN_EXCHANGE_AUDIENCE, ExtraGrantSpec
from . import TargetKind, TargetSpec, register
from .aks import credential_name
from .github_repo import FORMS, IDS_HELP, REPOSITORY, WITH_IDS, repo_claim, split_ids

if TYPE_CHECKING:
    from ..spec import Spec
    from ..state import State
    from ..steps.base import Step
    from ..verify import Target

ENTITIES = ("branch", "environment", "tag", "pull_request")


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
        """The token subject exactly as GitHub writes it (Entra ID compares it verbatim); `repository` is
        ORG/REPO, or ORG@ID/REPO@ID for the immutable form (GithubTarget.repo_claim)."""
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
    """ORGANISATION/REPOSITORY. "ORG@ID/REPO@ID" (as an immutable subject writes it) is read as the name and the
    two ids."""
    owner_id: int = 0
    """The owner's (user or organisation) numeric GitHub id; 0: not known."""
    repository_id: int = 0
    """The repository's numeric GitHub id; 0: not known."""
    subject_form: str = ""
    """"immutable" (repo:ORG@ID/REPO@ID:..., recommended: GitHub's form for repositories created or renamed since
    its 2026 cut-over, or opted in) or "name" (repo:ORG/REPO:..., for repositories that have not opted in); empty:
    immutable when both ids are set, else name. See wizard/targets/github_repo.py."""
    credentials: list[GithubCredential] = field(default_factory=list, metadata={"item": GithubCredential})
    """`[[target.credentials]]`: which workflow runs may sign in, one credential each."""
    issuer: str = ""
    """Empty: GitHub's (https://token.actions.githubusercontent.com); GitHub Enterprise Server: its own."""
    audience: str = TOKEN_EXCHANGE_AUDIENCE
    runner_resource_group: str = ""
    """With runner_role: a role for the identity on the resource group the workflow deploys to."""
    runner_role: str = ""

    def __post_init__(self) -> None:
        # "ORG@ID/REPO@ID" typed or pasted from a subject: kept as the name and the ids, unless ids already set
        # disagree (then it stays as typed and validation says which).
        parsed = split_ids(self.repository)
        if parsed is not None and self.owner_id in (0, parsed[1]) and self.repository_id in (0, parsed[2]):
            self.repository, self.owner_id, self.repository_id = parsed

    @property
    def effective_issuer(self) -> str:
        return self.issuer or GITHUB_ISSUER

    @property
    def immutable(self) -> bool:
        """True when the subjects carry the ids (the immutable form)."""
        return self.subject_form == "immutable" or (not self.subject_form and bool(self.owner_id and
                                                                                    self.repository_id))

    @property
    def repo_claim(self) -> str:
        """The repository part of the subjects: ORG@ID/REPO@ID (immutable form) or ORG/REPO."""
        return repo_claim(self.repository, self.owner_id, self.repository_id) if self.immutable else self.repository

    def subject(self, credential: GithubCredential) -> str:
        return credential.subject(self.repo_claim)


def github_target(spec: Spec) -> GithubTarget:
    assert isinstance(spec.target, GithubTarget), f"not a GitHub target: {spec.target.kind}"
    return spec.target


def github_problems(target: GithubTarget) -> list[str]:
    from ..azure import names
    problems = repository_problems(target)
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
        subject = target.subject(cred)
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


def repository_problems(target: GithubTarget) -> list[str]:
    """The repository, its ids and the subject form."""
    problems: list[str] = []
    typed = WITH_IDS.match(target.repository or "")
    if typed is not None:  # ORG@ID/REPO@ID left as typed: its ids disagree with owner_id / repository_id
        problems.append(f"target.repository: '{target.repository}' names owner id {typed['owner_id']} and repository "
                        f"id {typed['repository_id']}, but owner_id = {target.owner_id} and repository_id = "
                        f"{target.repository_id}. Keep one of them.")
    elif not REPOSITORY.match(target.repository or ""):
        problems.append(f"target.repository: '{target.repository}' is not ORGANISATION/REPOSITORY (e.g. "
                        "\"contoso/infra\", or \"contoso@123456/infra@456789\" with the ids).")
    for key in ("owner_id", "repository_id"):
        if getattr(target, key) < 0:
            problems.append(f"target.{key}: {getattr(target, key)} is not a GitHub id (a positive whole number); "
                            f"{IDS_HELP}.")
    if target.subject_form not in ("", *FORMS):
        problems.append(f"target.subject_form: '{target.subject_form}' is not one of {', '.join(FORMS)} (or empty: "
                        "immutable when both ids are set).")
    elif bool(target.owner_id) != bool(target.repository_id) or (target.subject_form == "immutable" and
                                                                   not target.owner_id):
        problems.append("target: the immutable subject (repo:ORG@ID/REPO@ID:...) needs both owner_id and "
                        f"repository_id: {IDS_HELP}. For a repository that has not opted in to immutable subjects "
                        "use subject_form = \"name\".")
    return problems


class GithubKind(TargetKind):
    kind = "github"
    label = "GitHub"
    title = "GitHub Actions OIDC"
    spec_type = GithubTarget
    example = "github-oidc"
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
