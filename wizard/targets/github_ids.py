"""A repository's numeric ids from GitHub's public REST API, for the immutable subject (github_repo.py).

`GET {api}/repos/{owner}/{repo}` answers `id` (the repository's) and `owner.id`
(https://docs.github.com/en/rest/repos/repos#get-a-repository); no sign-in is needed for a public repository.
The API's base comes from the cloud profile (`github_api_url`: https://api.github.com, or the sandbox's stand-in),
so tests never reach the internet. Any failure (offline, a private repository, the rate limit of 60 unauthenticated
calls an hour) is a GithubLookupError saying so: the caller then asks the user for the ids.

Through azure-core's pipeline (the HTTP stack every other call uses): the same TLS trust, timeouts and --debug lines.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

from .github_repo import IDS_HELP, REPOSITORY

GITHUB_API = "https://api.github.com"
API_VERSION = "2022-11-28"
"""GitHub's REST API version header (https://docs.github.com/en/rest/about-the-rest-api/api-versions)."""


class GithubLookupError(Exception):
    """The ids could not be read: `reason` says why; the message adds what to do instead."""

    def __init__(self, reason: str):
        super().__init__(f"{reason}: type the ids ({IDS_HELP}).")
        self.reason = reason


@dataclass(frozen=True)
class RepositoryIds:
    repository: str
    """ORG/REPO as GitHub spells it."""
    owner_id: int
    repository_id: int


def fetch_ids(repository: str, *, api_url: str = GITHUB_API, ca_bundle: str | None = None,
              timeout_s: float = 10.0) -> RepositoryIds:
    """The owner's and the repository's ids of `repository` (ORG/REPO); GithubLookupError on any failure."""
    from azure.core import PipelineClient
    from azure.core.exceptions import AzureError
    from azure.core.pipeline.policies import HeadersPolicy, RetryPolicy
    from azure.core.pipeline.transport import RequestsTransport
    from azure.core.rest import HttpRequest

    from ..azure.http_debug import per_call_policies
    repository = repository.strip()
    if not REPOSITORY.match(repository):
        raise GithubLookupError(f"'{repository}' is not ORGANISATION/REPOSITORY, so there is nothing to look up")
    owner, name = repository.split("/", 1)
    host = urlsplit(api_url).netloc or api_url
    # GitHub refuses calls without a User-Agent. One retry: a dropped connection is retried, an offline machine
    # is told at once.
    policies: list[Any] = [HeadersPolicy({"Accept": "application/vnd.github+json", "User-Agent": "mi-wizard",
                                          "X-GitHub-Api-Version": API_VERSION}),
                           RetryPolicy(retry_total=1, retry_backoff_factor=0.2),
                           *per_call_policies().get("per_call_policies", [])]
    transport = RequestsTransport(connection_verify=ca_bundle or True, connection_timeout=timeout_s,
                                  read_timeout=timeout_s)
    url = f"{api_url.rstrip('/')}/repos/{quote(owner, safe='')}/{quote(name, safe='')}"
    try:
        client: Any  # azure-core's generic PipelineClient, typed by its transport
        with PipelineClient(api_url, policies=policies, transport=transport) as client:
            response = client.send_request(HttpRequest("GET", url))
            status, body = response.status_code, _json(response)
    except AzureError as err:
        raise GithubLookupError(f"GitHub's API ({host}) could not be reached ({_first_line(err)})") from None
    if status == 404:
        raise GithubLookupError(f"GitHub has no public repository {repository} (404): check the name; a private "
                                "one's ids are not public")
    if status in (403, 429):
        raise GithubLookupError(f"GitHub's API refused the lookup ({status}: {body.get('message') or 'rate limit'})")
    if status != 200:
        raise GithubLookupError(f"GitHub's API answered {status} for {repository}")
    owner_id, repository_id = (body.get("owner") or {}).get("id"), body.get("id")
    if not isinstance(owner_id, int) or not isinstance(repository_id, int) or not _positive(owner_id) \
            or not _positive(repository_id):
        raise GithubLookupError(f"GitHub's API answered without the ids of {repository}")
    return RepositoryIds(str(body.get("full_name") or repository), owner_id, repository_id)


def _json(response: Any) -> dict[str, Any]:
    try:
        data = response.json()
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _positive(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def _first_line(err: Exception) -> str:
    text = str(getattr(err, "message", "") or err).strip().splitlines()
    return (text[0] if text else type(err).__name__)[:160]


def fetch_for(session: Any, repository: str) -> RepositoryIds:
    """fetch_ids on the GitHub API of the session's cloud profile (GitHub's, or the sandbox's stand-in)."""
    profile = session.profile
    return fetch_ids(repository, api_url=profile.github_api_url, ca_bundle=profile.ca_bundle)
