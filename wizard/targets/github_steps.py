"""The GitHub target's step: one federated credential per subject, trusting GitHub's issuer."""

from __future__ import annotations

from ..steps.base import RunContext
from ..steps.federation import FederatedCredentialsStep, WantedCredential
from .github import github_target


class GithubStep(FederatedCredentialsStep):
    id = "github"
    kind = "github"
    title = "GitHub Actions OIDC"

    def wanted(self, ctx: RunContext) -> list[WantedCredential]:
        target = github_target(ctx.spec)
        return [WantedCredential(label=f"target.credentials[{n}]", name=cred.credential_name(target.repository),
                                 issuer=target.effective_issuer, subject=target.subject(cred),
                                 audience=target.audience,
                                 record=(("repository", target.repository), ("entity", cred.entity)))
                for n, cred in enumerate(target.credentials)]
