"""The repository part of a GitHub Actions OIDC subject, in its two forms.

GitHub's "Immutable subject claims" (https://docs.github.com/en/actions/reference/security/oidc#immutable-subject-claims):
repositories created, renamed or transferred after GitHub's mid-2026 cut-over, and those whose admins opted in, get
the owner's and the repository's numeric ids appended to their names with `@` in the default `sub` claim:
`repo:octocat@123456/my-repo@456789:ref:refs/heads/main`. Only the repository part changes; what follows it is as
before for every kind of subject (`:ref:refs/heads/BRANCH`, `:ref:refs/tags/TAG`, `:environment:NAME`,
`:pull_request`). A repository emits one form at a time, and Entra ID compares the subject verbatim, so the
credential must use the form the repository emits. The ids never change and are never reused, which is why the
immutable form is the one to trust when the repository has it.
"""

from __future__ import annotations

import re

FORMS = ("immutable", "name")
FORM_NOTES = {
    "immutable": "repo:ORG@ID/REPO@ID:… GitHub's form since its 2026 cut-over, or opted in.",
    "name": "repo:ORG/REPO:… for repositories from before the cut-over, not opted in.",
}
"""One line each (72 characters at most: one line at 80 columns), for the UI and the spec's documentation."""
IDS_HELP = ("find them with `gh api repos/ORG/REPO --jq '.owner.id, .id'` (or https://api.github.com/repos/ORG/REPO:"
            " owner.id and id), or copy them from a workflow run's token subject")

OWNER = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})"
"""A GitHub user or organisation name: letters, digits and hyphens, at most 39 characters."""
NAME = r"[A-Za-z0-9._-]{1,100}"
REPOSITORY = re.compile(rf"^{OWNER}/{NAME}$")
WITH_IDS = re.compile(rf"^(?P<owner>{OWNER})@(?P<owner_id>[0-9]+)/(?P<name>{NAME})@(?P<repository_id>[0-9]+)$")
"""ORG@OWNER_ID/REPO@REPOSITORY_ID, as an immutable subject writes it."""
_ID_SUFFIX = re.compile(r"@[0-9]+(?=/|$)")


def split_ids(text: str) -> tuple[str, int, int] | None:
    """("ORG/REPO", owner id, repository id) of "ORG@ID/REPO@ID"; None when `text` is not in that form."""
    found = WITH_IDS.match(text.strip())
    if found is None:
        return None
    return (f"{found['owner']}/{found['name']}", int(found["owner_id"]), int(found["repository_id"]))


def repo_claim(repository: str, owner_id: int = 0, repository_id: int = 0) -> str:
    """What follows `repo:` in the subject: ORG@ID/REPO@ID with both ids, else ORG/REPO."""
    if not (owner_id and repository_id) or "/" not in repository:
        return repository
    owner, name = repository.split("/", 1)
    return f"{owner}@{owner_id}/{name}@{repository_id}"


def subject_repository(subject: str) -> str:
    """The repository part of a GitHub subject (repo:PART:...), ids included; "" for another subject."""
    return subject.split(":")[1] if subject.startswith("repo:") and subject.count(":") >= 2 else ""


def name_form(subject: str) -> str:
    """`subject` with the ids taken out of its repository part (the same subject in the name form)."""
    part = subject_repository(subject)
    return subject.replace(f"repo:{part}:", f"repo:{_ID_SUFFIX.sub('', part)}:", 1) if part else subject


def form_of(subject: str) -> str:
    """ "immutable" or "name": which form a GitHub subject is in."""
    return "immutable" if WITH_IDS.match(subject_repository(subject)) else "name"
