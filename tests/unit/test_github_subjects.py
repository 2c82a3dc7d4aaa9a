"""GitHub's two subject forms without Azure: the repository part with and without the ids for every kind of
subject (https://docs.github.com/en/actions/reference/security/oidc#immutable-subject-claims: the ids are appended
to the names with `@`, the rest is unchanged), ORG@ID/REPO@ID read as the name and the ids, and specs and states
written before the ids existed read as the name form."""

from __future__ import annotations

import pytest

from wizard.spec import Spec, dump_spec
from wizard.targets.github import GithubCredential, GithubTarget, github_problems
from wizard.targets.github_repo import form_of, name_form, repo_claim, split_ids

KINDS = [({"branch": "main"}, ":ref:refs/heads/main"), ({"tag": "v1.2.0"}, ":ref:refs/tags/v1.2.0"),
         ({"environment": "prod"}, ":environment:prod"), ({"pull_request": True}, ":pull_request")]


@pytest.mark.parametrize("credential,rest", KINDS)
def test_each_kind_of_subject_in_both_forms(credential, rest):
    cred = GithubCredential(**credential)
    immutable = GithubTarget(repository="octocat/my-repo", owner_id=123456, repository_id=456789)
    assert immutable.subject(cred) == f"repo:octocat@123456/my-repo@456789{rest}"
    assert GithubTarget(repository="octocat/my-repo").subject(cred) == f"repo:octocat/my-repo{rest}"
    named = GithubTarget(repository="octocat/my-repo", owner_id=123456, repository_id=456789, subject_form="name")
    assert named.subject(cred) == f"repo:octocat/my-repo{rest}"  # ids known, repository not opted in
    assert name_form(immutable.subject(cred)) == named.subject(cred)
    assert (form_of(immutable.subject(cred)), form_of(named.subject(cred))) == ("immutable", "name")


def test_the_repository_part():
    assert split_ids("octocat@123456/my-repo@456789") == ("octocat/my-repo", 123456, 456789)
    assert split_ids("octocat/my-repo") is None and split_ids("octocat@x/my-repo@1") is None
    assert repo_claim("octocat/my-repo", 1, 2) == "octocat@1/my-repo@2"
    assert repo_claim("octocat/my-repo", 1, 0) == "octocat/my-repo"


def test_a_repository_typed_with_ids_is_read_as_them_and_dumped_as_fields():
    spec = Spec.from_dict({"name": "gh", "subscription": "s", "resource_group": "rg", "identity": {"name": "id"},
                           "vault": {"name": ""}, "target": {"kind": "github", "repository": "octocat@5/app@7",
                                                             "credentials": [{"branch": "main"}]}})
    target = spec.target
    assert isinstance(target, GithubTarget)
    assert (target.repository, target.owner_id, target.repository_id, target.immutable) == ("octocat/app", 5, 7, True)
    text = dump_spec(spec)
    assert 'repository = "octocat/app"' in text and "owner_id = 5" in text and "repository_id = 7" in text
    import tomllib
    assert Spec.from_dict(tomllib.loads(text)).target == target


def test_specs_and_states_from_before_the_ids_read_as_the_name_form():
    old = {"kind": "github", "repository": "contoso/infra", "credentials": [{"branch": "main"}]}
    target = Spec.from_dict({"target": old}).target
    assert isinstance(target, GithubTarget)
    assert (target.owner_id, target.repository_id, target.subject_form, target.immutable) == (0, 0, "", False)
    assert target.subject(target.credentials[0]) == "repo:contoso/infra:ref:refs/heads/main"
    legacy = Spec.from_dict({"target": {"kind": "none"}, "federation": [
        {"kind": "github", "repository": "contoso/infra", "environment": "prod"}]}).target
    assert isinstance(legacy, GithubTarget) and legacy.subject(legacy.credentials[0]) == (
        "repo:contoso/infra:environment:prod")


@pytest.mark.parametrize("fields,expected", [
    ({"owner_id": -1, "repository_id": 2}, "target.owner_id: -1 is not a GitHub id"),
    ({"repository_id": 2}, "needs both owner_id and repository_id"),
    ({"subject_form": "immutable"}, "needs both owner_id and repository_id"),
    ({"subject_form": "ids"}, "target.subject_form: 'ids' is not one of immutable, name"),
    ({"repository": "o@1/r@2", "owner_id": 3}, "names owner id 1 and repository id 2, but owner_id = 3"),
])
def test_id_problems(fields, expected):
    target = GithubTarget(**{"repository": "o/r", "credentials": [GithubCredential(branch="main")], **fields})
    assert any(expected in p for p in github_problems(target)), github_problems(target)


def test_both_forms_are_valid():
    for fields in ({}, {"subject_form": "name"}, {"owner_id": 1, "repository_id": 2},
                   {"owner_id": 1, "repository_id": 2, "subject_form": "name"}):
        assert github_problems(GithubTarget(repository="o/r", credentials=[GithubCredential(branch="main")],
                                            **fields)) == []
