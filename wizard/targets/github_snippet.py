"""The GitHub target's next steps: the workflow snippet (permissions id-token: write, azure/login@v2) and which
jobs' tokens Azure accepts (their subject must match a credential exactly)."""

from __future__ import annotations

from typing import Any

from ..outputs import subscription_of
from .github_repo import form_of


def github_section(identity: dict[str, Any], credentials: list[dict[str, Any]], cloud: str | None = None) -> str:
    subscription = subscription_of(identity.get("id") or "")
    cloud_lines = _cloud_lines(credentials, cloud)
    trigger, job_extra = _github_trigger(credentials[0].get("subject", ""))
    text = ("GitHub Actions\n"
            "  In .github/workflows/deploy.yml (the ids are not secrets; repository variables work too):\n\n"
            f"{trigger}"
            "    permissions:\n"
            "      id-token: write   # lets the job request its OIDC token\n"
            "      contents: read\n"
            "    jobs:\n"
            "      deploy:\n"
            "        runs-on: ubuntu-latest   # or your self-hosted runner's labels\n"
            f"{job_extra}"
            "        steps:\n"
            "          - uses: azure/login@v2\n"
            "            with:\n"
            f"              client-id: {identity['client_id']}\n"
            f"              tenant-id: {identity.get('tenant_id', '')}\n"
            f"              subscription-id: {subscription}\n"
            f"{cloud_lines}"
            "          - run: az group list -o table   # az and Azure SDKs now act as the identity\n\n"
            "  Azure accepts the job's token only when its subject is one of these (exact match):")
    for credential in credentials:
        text += f"\n    {credential.get('subject')}: {_github_when(credential.get('subject', ''))}"
    forms = {form_of(str(c.get("subject", ""))) for c in credentials}
    if forms == {"immutable"}:
        text += ("\n  These subjects carry the repository's ids (repo:ORG@ID/REPO@ID): GitHub sends them for "
                 "repositories\n  created or renamed since its 2026 cut-over, or opted in. If a run is refused "
                 "(AADSTS70021), its\n  token says repo:ORG/REPO: set subject_form = \"name\" and apply again.")
    elif forms == {"name"}:
        text += ("\n  These subjects name the repository without its ids (repo:ORG/REPO): once the repository is "
                 "renamed or\n  opted in to immutable subjects, its tokens carry the ids: give owner_id and "
                 "repository_id and apply again.")
    return text


def _cloud_lines(credentials: list[dict[str, Any]], cloud: str | None) -> str:
    """azure/login's inputs for a cloud other than the public one: `environment` (its default is azurecloud) and
    `audience` (its default is the public cloud's, api://AzureADTokenExchange; the job's token must carry the
    credential's own: https://github.com/Azure/login/issues/452). The credential's audience is what Azure
    compares, so it is named whenever it is not the default; the cloud is the setup's, else read from it."""
    from ..azure.clouds import CLOUDS, PUBLIC, by_audience
    audience = str(credentials[0].get("audience") or PUBLIC.token_exchange_audience) if credentials else ""
    known = CLOUDS.get(cloud or "") or by_audience(audience) or PUBLIC
    lines = ""
    if known is not PUBLIC:
        lines += f"              environment: {known.az_name}\n"
    if audience and audience != PUBLIC.token_exchange_audience:
        lines += f"              audience: {audience}\n"
    return lines


def _github_when(subject: str) -> str:
    if ":environment:" in subject:
        return f"a job with `environment: {subject.split(':environment:', 1)[1]}`"
    if ":ref:refs/heads/" in subject:
        return f"a run for branch {subject.split(':ref:refs/heads/', 1)[1]} (and no environment)"
    if ":ref:refs/tags/" in subject:
        return f"a run for tag {subject.split(':ref:refs/tags/', 1)[1]} (and no environment)"
    return "a run triggered by a pull request (and no environment)"


def _github_trigger(subject: str) -> tuple[str, str]:
    """The `on:` block and job lines that make the workflow's token carry exactly this subject."""
    if ":environment:" in subject:
        env = subject.split(":environment:", 1)[1]
        return "    on: push   # any trigger: the job's environment decides\n", (
            f"        environment: {env}   # the subject names this environment\n")
    if ":ref:refs/heads/" in subject:
        branch = subject.split(":ref:refs/heads/", 1)[1]
        return f"    on:\n      push:\n        branches: [{branch}]\n", ""
    if ":ref:refs/tags/" in subject:
        tag = subject.split(":ref:refs/tags/", 1)[1]
        return f"    on:\n      push:\n        tags: [\"{tag}\"]\n", ""
    return "    on: pull_request\n", ""
