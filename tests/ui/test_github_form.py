"""The GitHub screen as a person uses it, against the sandbox: the repository's ids read from the sandbox's GitHub
API and the immutable subject previewed, applied and accepted by the token exchange; offline, the ids asked for
(or the name form chosen); ORG@ID/REPO@ID pasted; and issue 12's findings: the preview follows the kind chosen,
errors in the screen's words, no error for the fields Add just cleared."""

from __future__ import annotations

from dataclasses import replace

import pytest
from azure.identity import ClientAssertionCredential

from screens.app import make_app
from wizard.azure.clients import make_credential
from wizard.sandbox.providers.github_repos import repository_record
from wizard.sandbox.providers.oidc import mint_github_token
from wizard.session import Session
from wizard.state_store import StateStore

from .helpers import new_draft, open_at, screen_text, type_text, wait_for
from .test_workloads import apply_and_verify, next_to, pick, text_of

pytestmark = pytest.mark.timeout(60)


def ids_of(sandbox, repository: str) -> tuple[int, int]:
    record = repository_record(sandbox, repository)
    return record["ownerId"], record["repositoryId"]


async def open_github(pilot, state_dir, sandbox, name: str = "gh-form") -> None:
    """A setup without a vault, chosen up to the GitHub screen: stand there."""
    path = new_draft(state_dir, name, at="details", subscription=sandbox.subscription_ids[0], vault={"name": ""},
                     target={"kind": "github"})
    await open_at(pilot, path, "GithubScreen", ready=False)


def status(app) -> tuple[str, set[str]]:
    note = app.screen.query_one("#status")
    return text_of(app, "#status"), set(note.classes)


@pytest.fixture
def offline_make(profile, state_dir):
    """The app with GitHub's API unreachable (a closed port): the lookup fails as it does offline."""
    offline = replace(profile, github_api_url="https://127.0.0.1:9")

    def build():
        return make_app(session_factory=lambda **_: Session(offline, make_credential(offline)), sandbox=True,
                        state_dir=state_dir)
    return build


async def test_ids_read_from_githubs_api_give_the_immutable_subject_that_signs_in(make, state_dir, sandbox):
    owner_id, repository_id = ids_of(sandbox, "contoso/deploy")  # made after the cut-over: immutable subjects
    claim = f"contoso@{owner_id}/deploy@{repository_id}"
    app = make()
    async with app.run_test(size=(80, 24)) as pilot:
        await open_github(pilot, state_dir, sandbox)
        assert "Immutable ids (recommended)" in screen_text(app)
        assert "GitHub's form since its 2026 cut-over, or opted in" in screen_text(app)  # the one-line why
        await type_text(pilot, "#repository", "contoso/deploy")
        await wait_for(pilot, lambda: "Ids of contoso/deploy read from GitHub." in screen_text(app), what="lookup")
        assert f"owner {owner_id}" in screen_text(app) and f"repository {repository_id}" in screen_text(app)
        await type_text(pilot, "#entity-value", "main")
        await wait_for(pilot, lambda: f"Subject  repo:{claim}:ref:refs/heads/main" in screen_text(app))
        await pilot.press("ctrl+t")
        await wait_for(pilot, lambda: len(app.screen.entries) == 1)
        pick(app, "#entity", "environment")
        await type_text(pilot, "#entity-value", "production")
        await wait_for(pilot, lambda: f"Subject  repo:{claim}:environment:production" in screen_text(app))
        await next_to(pilot, "GrantsScreen")
        await next_to(pilot, "ReviewScreen", ready=False)
        await apply_and_verify(pilot)
        assert "every link is in place" in screen_text(app)
    state = StateStore(state_dir / "gh-form.json").load()
    target = state.spec["target"]
    assert (target["owner_id"], target["repository_id"], target["subject_form"]) == (owner_id, repository_id, "")
    assert [c["subject"] for c in state.step("github").outputs["credentials"]] == [
        f"repo:{claim}:ref:refs/heads/main", f"repo:{claim}:environment:production"]
    token, _ = mint_github_token(sandbox, "contoso/deploy", environment="production")
    client_id = state.step("identity").outputs["client_id"]
    assert ClientAssertionCredential(sandbox.tenant_id, client_id, lambda: token, authority=sandbox.authority,
                                     disable_instance_discovery=True, connection_verify=str(sandbox.ca_path)
                                     ).get_token("https://management.azure.com/.default").token


async def test_offline_the_ids_are_asked_for_or_the_name_form_chosen(offline_make, state_dir, sandbox):
    app = offline_make()
    async with app.run_test(size=(80, 24)) as pilot:
        await open_github(pilot, state_dir, sandbox)
        await type_text(pilot, "#repository", "contoso/infra")
        await wait_for(pilot, lambda: "Could not read the ids: GitHub's API (127.0.0.1:9) could not be reached"
                       in screen_text(app), what="the lookup's failure")
        assert "Type them" in screen_text(app) and "choose Names only" in screen_text(app)
        await type_text(pilot, "#entity-value", "main")
        await wait_for(pilot, lambda: "needs the owner id and the repository id" in status(app)[0])
        await wait_for(pilot, lambda: "error" in status(app)[1] and app.screen.query_one("#add").disabled,
                       what="the form refusing Add")
        assert "Subject  repo:contoso@OWNER_ID/infra@REPOSITORY_ID:ref:refs/heads/main" in screen_text(app)
        # Typed ids: the immutable subject.
        await type_text(pilot, "#owner-id", "1234")
        await type_text(pilot, "#repository-id", "5678")
        await wait_for(pilot, lambda: "Subject  repo:contoso@1234/infra@5678:ref:refs/heads/main" in screen_text(app))
        await wait_for(pilot, lambda: app.screen.ready and "ok" in status(app)[1], what="the form ready",
                       timeout=30)
        # Names only, for a repository that has not opted in.
        pick(app, "#subject-form", "name")
        await wait_for(pilot, lambda: "Subject  repo:contoso/infra:ref:refs/heads/main" in screen_text(app))
        assert "for repositories from before the cut-over, not opted in" in screen_text(app)
        await wait_for(pilot, lambda: app.screen.ready, what="the form ready")


async def test_a_repository_pasted_with_its_ids_fills_the_name_and_the_ids(offline_make, state_dir, sandbox):
    app = offline_make()
    async with app.run_test(size=(80, 24)) as pilot:
        await open_github(pilot, state_dir, sandbox)
        await type_text(pilot, "#repository", "octocat@123456/my-repo@456789")
        await type_text(pilot, "#entity-value", "main")  # leaving the field splits the name and the ids
        await wait_for(pilot, lambda: app.screen.query_one("#repository").value == "octocat/my-repo")
        assert app.screen.query_one("#owner-id").value == "123456"
        await wait_for(pilot, lambda: "Subject  repo:octocat@123456/my-repo@456789:ref:refs/heads/main"
                       in screen_text(app))
        assert "Could not read" not in screen_text(app)  # ids given: nothing to look up


@pytest.mark.parametrize("kind,expected", [("branch", ":ref:refs/heads/BRANCH"), ("tag", ":ref:refs/tags/TAG"),
                                           ("environment", ":environment:ENVIRONMENT"),
                                           ("pull_request", ":pull_request")])
async def test_the_subject_preview_follows_the_kind_chosen(offline_make, state_dir, sandbox, kind, expected):
    app = offline_make()
    async with app.run_test(size=(80, 24)) as pilot:
        await open_github(pilot, state_dir, sandbox)
        pick(app, "#subject-form", "name")
        await type_text(pilot, "#repository", "contoso/infra")
        pick(app, "#entity", kind)
        await wait_for(pilot, lambda: f"Subject  repo:contoso/infra{expected}\n" in screen_text(app) + "\n"
                       or f"Subject  repo:contoso/infra{expected} " in screen_text(app), what=expected)
        if kind != "pull_request":
            assert ":pull_request" not in screen_text(app)


async def test_errors_are_in_the_screens_words(offline_make, state_dir, sandbox):
    app = offline_make()
    async with app.run_test(size=(80, 24)) as pilot:
        await open_github(pilot, state_dir, sandbox)
        pick(app, "#subject-form", "name")
        await type_text(pilot, "#repository", "not a repo")
        await wait_for(pilot, lambda: "Repository: 'not a repo' is not ORGANISATION/REPOSITORY" in status(app)[0])
        await type_text(pilot, "#repository", "contoso/infra")
        await type_text(pilot, "#entity-value", "release/*")
        await wait_for(pilot, lambda: "Branch: 'release/*' has a wildcard" in status(app)[0])
        await type_text(pilot, "#entity-value", "main")
        await type_text(pilot, "#runner-group", "rg-gh")
        await wait_for(pilot, lambda: "Runner's group and Role there go together" in status(app)[0])
        for spec_words in ("target.", "runner_role", "runner_resource_group", "credentials["):
            assert spec_words not in status(app)[0]


async def test_after_add_the_cleared_fields_show_no_error(offline_make, state_dir, sandbox):
    app = offline_make()
    async with app.run_test(size=(80, 24)) as pilot:
        await open_github(pilot, state_dir, sandbox)
        pick(app, "#subject-form", "name")
        await type_text(pilot, "#repository", "contoso/infra")
        await type_text(pilot, "#entity-value", "main")
        await type_text(pilot, "#cred-name", "deploy-main")
        await wait_for(pilot, lambda: app.screen.ready)
        await pilot.press("ctrl+t")
        await wait_for(pilot, lambda: len(app.screen.entries) == 1)
        await pilot.pause()
        text, classes = status(app)
        assert "error" not in classes and text == "1 credential added; Next goes on (or fill in another one)."
        assert "repo:contoso/infra:ref:refs/heads/main" in screen_text(app)  # the list's row
        assert app.screen.query_one("#entity-value").value == "" and app.screen.can_advance
