"""GitHub's two subject forms end to end on the sandbox: the ids read from the sandbox's GitHub API, the credentials
apply writes, a GitHub token minted by the sandbox's token endpoint (over HTTPS, as the runner asks for it) and
exchanged for an Azure token; a token of the other form is refused (Entra compares subjects verbatim), verify names
a credential of the other form, and switching a setup's form updates its credentials in place."""

from __future__ import annotations

import pytest
from azure.core.exceptions import ClientAuthenticationError
from azure.core.rest import HttpRequest
from azure.identity import ClientAssertionCredential

from wizard.engine import verify_setup
from wizard.sandbox.providers.github_repos import mark_repository
from wizard.sandbox.providers.oidc import decode_unverified
from wizard.spec import GITHUB_ISSUER
from wizard.targets.github_ids import GithubLookupError, fetch_ids

from .conftest import build_spec

NEW_REPO = "contoso/deploy"  # the demo seed's repository made after GitHub's cut-over: immutable subjects
OLD_REPO = "contoso/infra"  # made before it, not opted in: name-form subjects
CREDENTIALS = [{"branch": "main"}, {"environment": "production"}, {"tag": "v1.2.0"}, {"pull_request": True}]
JOBS = [("refs/heads/main", "", "push"), ("", "production", "push"), ("refs/tags/v1.2.0", "", "push"),
        ("refs/pull/7/merge", "", "pull_request")]
"""The workflow run each credential lets in, in CREDENTIALS' order."""


def github_spec(**target):
    return build_spec(resource_group="rg-gh-runner", vault={"name": ""},
                      target={"kind": "github", "credentials": CREDENTIALS, **target})


def lookup(harness, repository: str):
    profile = harness.clients().profile
    return fetch_ids(repository, api_url=profile.github_api_url, ca_bundle=profile.ca_bundle)


def mint(harness, repository: str, ref: str, environment: str, event: str) -> str:
    """What a workflow job gets from ACTIONS_ID_TOKEN_REQUEST_URL: the sandbox's GitHub token endpoint."""
    params = {"repository": repository, "ref": ref, "environment": environment, "eventName": event}
    response = harness.clients().resources.send_request(
        HttpRequest("POST", "/_sandbox/github/token", params={k: v for k, v in params.items() if v}))
    assert response.status_code == 200, response.text()
    token: str = response.json()["value"]
    return token


def exchange(sandbox, client_id: str, assertion: str) -> str:
    """What azure/login does: trade the job's OIDC token for an Azure token."""
    credential = ClientAssertionCredential(sandbox.tenant_id, client_id, lambda: assertion,
                                           authority=sandbox.authority, disable_instance_discovery=True,
                                           connection_verify=str(sandbox.ca_path))
    return credential.get_token("https://management.azure.com/.default").token


def fics(harness) -> list[str]:
    return sorted(f.subject for f in harness.clients().msi.federated_identity_credentials.list("rg-gh-runner",
                                                                                              "id-flows"))


def test_immutable_subjects_with_ids_from_githubs_api_let_each_job_in_and_name_form_tokens_out(harness, sandbox):
    ids = lookup(harness, NEW_REPO)
    claim = f"contoso@{ids.owner_id}/deploy@{ids.repository_id}"
    engine = harness.engine(github_spec(repository=NEW_REPO, owner_id=ids.owner_id, repository_id=ids.repository_id))
    plan = engine.plan()
    assert not plan.problems, plan.problems
    state = engine.apply(plan)
    assert verify_setup(engine).passed
    assert fics(harness) == sorted([f"repo:{claim}:ref:refs/heads/main", f"repo:{claim}:environment:production",
                                    f"repo:{claim}:ref:refs/tags/v1.2.0", f"repo:{claim}:pull_request"])
    # Credential names do not change with the form (they are made from the names).
    assert [c["name"] for c in state.step("github").outputs["credentials"]][0] == "github-contoso-deploy-branch-main"
    client_id = state.step("identity").outputs["client_id"]
    for job in JOBS:
        token = mint(harness, NEW_REPO, *job)
        assert decode_unverified(token)[1]["sub"].startswith(f"repo:{claim}:")
        assert exchange(sandbox, client_id, token)
    # The same repository's tokens without the ids (not opted in) match no credential.
    mark_repository(sandbox, NEW_REPO, immutable_subjects=False)
    name_form = mint(harness, NEW_REPO, *JOBS[0])
    assert decode_unverified(name_form)[1]["sub"] == f"repo:{NEW_REPO}:ref:refs/heads/main"
    with pytest.raises(ClientAuthenticationError, match="AADSTS70021"):
        exchange(sandbox, client_id, name_form)


def test_the_name_form_for_a_repository_not_opted_in_and_the_switch_to_immutable(harness, sandbox):
    ids = lookup(harness, OLD_REPO)
    spec = dict(repository=OLD_REPO, owner_id=ids.owner_id, repository_id=ids.repository_id)
    engine = harness.engine(github_spec(subject_form="name", **spec))
    state = engine.apply(engine.plan())
    assert verify_setup(engine).passed
    assert fics(harness)[0] == f"repo:{OLD_REPO}:environment:production"
    client_id = state.step("identity").outputs["client_id"]
    for job in JOBS:
        assert exchange(sandbox, client_id, mint(harness, OLD_REPO, *job))
    # The repository opts in: its tokens now carry the ids, and the name-form credentials refuse them.
    mark_repository(sandbox, OLD_REPO, immutable_subjects=True)
    immutable = mint(harness, OLD_REPO, *JOBS[0])
    with pytest.raises(ClientAuthenticationError, match="AADSTS70021"):
        exchange(sandbox, client_id, immutable)
    # The spec switched to the immutable form: apply updates the same credentials (same names) to the new subjects.
    switched = harness.engine(github_spec(**spec))
    claim = f"contoso@{ids.owner_id}/infra@{ids.repository_id}"
    plan = switched.plan()
    assert plan.item("github").action == "update"
    assert any(f"changes from repo:{OLD_REPO}:ref:refs/heads/main to repo:{claim}:ref:refs/heads/main" in d
               for d in plan.item("github").details)
    switched.apply(plan)
    assert verify_setup(switched).passed
    assert all(s.startswith(f"repo:{claim}:") for s in fics(harness))
    for job in JOBS:
        assert exchange(sandbox, client_id, mint(harness, OLD_REPO, *job))
    # A credential put back to the name form by hand: verify names it as the other form of the subject.
    name = state.step("github").outputs["credentials"][0]["name"]
    harness.clients().msi.federated_identity_credentials.create_or_update("rg-gh-runner", "id-flows", name, {
        "properties": {"issuer": GITHUB_ISSUER, "subject": f"repo:{OLD_REPO}:ref:refs/heads/main",
                       "audiences": ["api://AzureADTokenExchange"]}})
    report = verify_setup(harness.engine(github_spec(**spec)), probe=False)
    assert report.broken.name == f"federation:{name}"
    assert f"trusts the subject repo:{claim}:ref:refs/heads/main ({name} trusts repo:{OLD_REPO}:ref:refs/heads/" \
           "main, the other form of GitHub's subject" in report.broken.detail


def test_repository_typed_with_its_ids_is_read_as_the_immutable_form(harness, sandbox):
    ids = lookup(harness, NEW_REPO)
    typed = github_spec(repository=f"contoso@{ids.owner_id}/deploy@{ids.repository_id}")
    assert (typed.target.repository, typed.target.owner_id, typed.target.repository_id) == (
        NEW_REPO, ids.owner_id, ids.repository_id)
    assert typed.validate() == []
    engine = harness.engine(typed)
    state = engine.apply(engine.plan())
    client_id = state.step("identity").outputs["client_id"]
    assert exchange(sandbox, client_id, mint(harness, NEW_REPO, *JOBS[1]))


def test_the_sandboxs_github_api_and_its_settings(harness, sandbox, contributor_az):
    ids = lookup(harness, "Contoso/Infra")  # GitHub's names are case-insensitive: the ids are the same
    assert (ids.owner_id, ids.repository_id) == (lookup(harness, OLD_REPO).owner_id,
                                                 lookup(harness, OLD_REPO).repository_id)
    assert lookup(harness, "contoso/other").owner_id == ids.owner_id  # one owner, one id
    az = harness.clients()
    marked = az.resources.send_request(HttpRequest("POST", "/_sandbox/github/repos", json={
        "repository": "fabrikam/app", "immutableSubjects": True, "ownerId": 42, "repositoryId": 4242}))
    assert marked.status_code == 200, marked.text()
    assert (lookup(harness, "fabrikam/app").owner_id, lookup(harness, "fabrikam/app").repository_id) == (42, 4242)
    assert decode_unverified(mint(harness, "fabrikam/app", "", "prod", "push"))[1]["sub"] == (
        "repo:fabrikam@42/app@4242:environment:prod")
    refused = contributor_az.resources.send_request(HttpRequest("POST", "/_sandbox/github/repos", json={
        "repository": "fabrikam/app", "immutableSubjects": False}))
    assert refused.status_code == 403 and "only its admin" in refused.text()
    bad = az.resources.send_request(HttpRequest("POST", "/_sandbox/github/repos", json={
        "repository": "fabrikam/app", "ownerId": "-1"}))
    assert bad.status_code == 400 and "positive whole number" in bad.text()


def test_a_failed_lookup_says_why_and_to_type_the_ids(harness, sandbox):
    profile = harness.clients().profile
    with pytest.raises(GithubLookupError, match=r"GitHub's API \(127.0.0.1:9\) could not be reached") as offline:
        fetch_ids(OLD_REPO, api_url="https://127.0.0.1:9", ca_bundle=profile.ca_bundle)
    assert "type the ids (find them with `gh api repos/ORG/REPO --jq '.owner.id, .id'`" in str(offline.value)
    with pytest.raises(GithubLookupError, match=f"GitHub has no public repository {OLD_REPO} \\(404\\)"):
        fetch_ids(OLD_REPO, api_url=f"{sandbox.arm_url}/_sandbox/no-such-api", ca_bundle=profile.ca_bundle)
    mark = len(sandbox.calls)
    with pytest.raises(GithubLookupError, match="is not ORGANISATION/REPOSITORY"):
        fetch_ids("../../subscriptions", api_url=profile.github_api_url, ca_bundle=profile.ca_bundle)
    assert len(sandbox.calls) == mark  # refused before any call
