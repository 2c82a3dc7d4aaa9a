"""The sandbox's stand-in for GitHub's repositories: their numeric ids, whether their OIDC tokens carry immutable
subjects, and the one REST call the wizard makes to GitHub.

- Every well-formed ORG/REPO exists here (the sandbox plays all of GitHub, as its token endpoint does): its ids are
  derived from its lower-cased name (GitHub names are case-insensitive; ids never change), unless set.
- A repository's tokens carry the name-form subject (repo:ORG/REPO:...) unless it is marked as opted in to
  immutable subjects, as GitHub does for repositories created or renamed after its 2026 cut-over
  (https://docs.github.com/en/actions/reference/security/oidc#immutable-subject-claims); then they carry
  repo:ORG@OWNER_ID/REPO@REPOSITORY_ID:... . The demo seed has one of each: contoso/infra (made before the
  cut-over, name form) and contoso/deploy (made after it, immutable).
- `GET {arm_url}/_sandbox/github/api/repos/{owner}/{repo}` answers as `GET https://api.github.com/repos/{owner}/
  {repo}` does (the fields the wizard reads: id, owner.id, full_name; 404 {"message": "Not Found"} for a name that
  is not a repository). Unauthenticated, like GitHub's API for a public repository.
- `POST /_sandbox/github/repos` {"repository", "immutableSubjects", "ownerId", "repositoryId"} marks a repository
  (the sandbox admin only, as minting: it stands for the repository's admin in GitHub's settings).
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from .. import directory
from ..router import ARM, ArmError, Request, Response, router

GITHUB_REPOSITORY = "github_repository"
"""Kind: lower-cased ORG/REPO -> {"fullName", "ownerId", "repositoryId", "immutableSubjects"}."""
_REPOSITORY = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})/[A-Za-z0-9._-]{1,100}$")
API_PREFIX = "/_sandbox/github/api"
"""The sandbox's GitHub REST API base, under its ARM URL (wizard.targets.github_ids is given `{arm_url}{API_PREFIX}`)."""


def derived_ids(repository: str) -> tuple[int, int]:
    """(owner id, repository id) of a repository nobody set ids for: stable, from its lower-cased name."""
    owner = repository.split("/", 1)[0].lower()
    return (uuid.uuid5(uuid.NAMESPACE_URL, f"github:{owner}").int % 10**8 + 1,
            uuid.uuid5(uuid.NAMESPACE_URL, f"github:{repository.lower()}").int % 10**9 + 1)


def repository_record(sb, repository: str) -> dict[str, Any]:
    """The repository as the sandbox's GitHub knows it (a derived, name-form one unless marked)."""
    found = sb.store.get(GITHUB_REPOSITORY, repository.lower())
    if found is not None:
        return dict(found)
    owner_id, repository_id = derived_ids(repository)
    return {"fullName": repository, "ownerId": owner_id, "repositoryId": repository_id, "immutableSubjects": False}


def mark_repository(sb, repository: str, *, immutable_subjects: bool, owner_id: int | None = None,
                    repository_id: int | None = None) -> dict[str, Any]:
    """Opt `repository` in to (or out of) immutable subjects; optionally give it ids. Returns its record."""
    record = repository_record(sb, repository)
    record.update({"fullName": repository, "immutableSubjects": immutable_subjects})
    if owner_id is not None:
        record["ownerId"] = owner_id
    if repository_id is not None:
        record["repositoryId"] = repository_id
    sb.store.put(GITHUB_REPOSITORY, repository.lower(), record)
    return record


def subject_repository(sb, repository: str) -> str:
    """The repository part of the `sub` its tokens carry: ORG@ID/REPO@ID when opted in, else ORG/REPO."""
    record = repository_record(sb, repository)
    if not record["immutableSubjects"]:
        return repository
    owner, name = repository.split("/", 1)
    return f"{owner}@{record['ownerId']}/{name}@{record['repositoryId']}"


def _not_found() -> ArmError:
    return ArmError(404, "NotFound", "Not Found", body={
        "message": "Not Found", "documentation_url": "https://docs.github.com/rest/repos/repos#get-a-repository",
        "status": "404"})


@router.route("GET", f"{API_PREFIX}/repos/{{owner}}/{{repo}}", operation="github_api", plane=ARM,
              needs_api_version=False, authenticated=False)
def get_repository(sb, req: Request) -> Response:
    repository = f"{req.params['owner']}/{req.params['repo']}"
    if not _REPOSITORY.match(repository):
        raise _not_found()
    record = repository_record(sb, repository)
    owner, name = record["fullName"].split("/", 1)
    return Response(200, {
        "id": record["repositoryId"], "node_id": f"R_sandbox{record['repositoryId']}", "name": name,
        "full_name": record["fullName"], "private": False,
        "owner": {"login": owner, "id": record["ownerId"], "type": "Organization"},
        "html_url": f"https://github.com/{record['fullName']}", "default_branch": "main"})


def _mark(sb, req: Request) -> Response:
    params = {str(k).lower(): v for k, v in (req.json_object() if req.body else {}).items()}
    params.update({k: v for k, v in req.query.items() if k not in params})
    repository = str(params.get("repository", ""))
    caller = req.principal
    assert caller is not None, "the route is authenticated"
    if not directory.is_sandbox_admin(sb.store, caller.object_id):
        raise ArmError(403, "AuthorizationFailed",
                       f"The client '{caller.app_id}' with object id '{caller.object_id}' does not have authorization "
                       f"to change the settings of repository '{repository}': in this sandbox only its admin does.")
    if not _REPOSITORY.match(repository):
        raise ArmError(400, "InvalidParameter", f"repository '{repository}' must be ORG/REPO.")
    ids: dict[str, int] = {}
    for key, name in (("ownerid", "owner_id"), ("repositoryid", "repository_id")):
        if params.get(key) not in (None, ""):
            value = str(params[key])
            if not value.isdigit() or int(value) <= 0:
                raise ArmError(400, "InvalidParameter", f"{key} '{value}' must be a positive whole number.")
            ids[name] = int(value)
    immutable = str(params.get("immutablesubjects", "true")).lower() in ("true", "1")
    return Response(200, mark_repository(sb, repository, immutable_subjects=immutable, **ids))


router.route("POST", "/_sandbox/github/repos", operation="sandbox_github_settings", plane=ARM,
             needs_api_version=False)(_mark)


def _seed_demo(sb) -> None:
    mark_repository(sb, "contoso/deploy", immutable_subjects=True)


from ..seed import demo_seeders  # noqa: E402 - registered when the provider is imported

demo_seeders.append(_seed_demo)
