"""The GitHub target's next steps: the workflow snippet (permissions id-token: write, azure/login@v2) and which
jobs' tokens Azure accepts (their subject must match a credential exactly)."""

from __future__ import annotations

from typing import Any

from ..outputs import subscription_of


def github_section(identity: dict[str, Any], credentials: list[dict[str, Any]]) -> str:
    subscription = subscription_of(identity.get("id") or "")
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
            "          - run: az group list -o table   # az and Azure SDKs now act as the identity\n\n"
            "  Azure accepts the job's token only when its subject is one of these (exact match):")
    for credential in credentials:
        text += f"\n    {credential.get('subject')}: {_github_when(credential.get('subject', ''))}"
    return text


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
