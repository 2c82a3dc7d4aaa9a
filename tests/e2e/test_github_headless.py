"""GitHub's immutable subjects headless, through the real CLI entry point against one running sandbox: a spec with
the ids applies and verifies, and the workflow's token exchange works; a repository typed with its ids is read as
them; bad ids are exit 2 with the fix and nothing written; capture reads an immutable subject back into the
repository and its ids; the exports print the immutable subject."""

from __future__ import annotations

import json

import pytest
from azure.identity import ClientAssertionCredential

from wizard.cli import main
from wizard.sandbox.providers.github_repos import repository_record
from wizard.sandbox.providers.oidc import mint_github_token
from wizard.spec import load_spec
from wizard.spec_workloads import GITHUB_ISSUER

EXCHANGE = "api://AzureADTokenExchange"
SPEC = """name = "gh-immutable"
subscription = "Contoso Dev"
resource_group = "rg-gh-deploy"
location = "eastus"

[identity]
name = "id-gh-deploy"

[target]
kind = "github"
repository = "{repository}"
{extra}
[[target.credentials]]
branch = "main"

[[target.credentials]]
environment = "production"
"""


@pytest.fixture
def cli(sandbox, tmp_path, monkeypatch, capsys):
    descriptor = tmp_path / "sandbox.json"
    sandbox.write_descriptor(descriptor)
    monkeypatch.setenv("MI_WIZARD_STATE_DIR", str(tmp_path / "state"))

    def run(*args: str, connect: bool = True) -> tuple[int, str]:
        code = main([*args, "--sandbox-descriptor", str(descriptor)] if connect else list(args))
        out = capsys.readouterr()
        text = out.out + out.err
        assert "Traceback" not in text, text
        return code, out.out if "--json" in args else text
    return run


def write_spec(tmp_path, repository: str, extra: str = ""):
    path = tmp_path / "gh.toml"
    path.write_text(SPEC.format(repository=repository, extra=extra))
    return path


def ids(sandbox, repository: str = "contoso/deploy") -> tuple[int, int]:
    record = repository_record(sandbox, repository)
    return record["ownerId"], record["repositoryId"]


def test_a_spec_with_ids_applies_verifies_and_lets_the_workflow_in(cli, sandbox, tmp_path):
    owner_id, repository_id = ids(sandbox)
    spec = write_spec(tmp_path, "contoso/deploy", f"owner_id = {owner_id}\nrepository_id = {repository_id}\n")
    code, text = cli("apply", str(spec), "--yes")
    assert code == 0, text
    claim = f"contoso@{owner_id}/deploy@{repository_id}"
    assert f"repo:{claim}:ref:refs/heads/main" in text  # the workflow snippet's subjects
    code, text = cli("verify", "gh-immutable")
    assert code == 0, text
    steps = json.loads(cli("status", "gh-immutable", "--offline", "--json")[1])["steps"]
    subjects = [c["subject"] for c in steps["github"]["outputs"]["credentials"]]
    assert subjects == [f"repo:{claim}:ref:refs/heads/main", f"repo:{claim}:environment:production"]
    client_id = steps["identity"]["outputs"]["client_id"]
    token, _ = mint_github_token(sandbox, "contoso/deploy", environment="production")
    assert ClientAssertionCredential(sandbox.tenant_id, client_id, lambda: token, authority=sandbox.authority,
                                     disable_instance_discovery=True, connection_verify=str(sandbox.ca_path)
                                     ).get_token("https://management.azure.com/.default").token
    # The exports print the subjects the credentials trust.
    for fmt in ("az", "bicep", "terraform"):
        out = tmp_path / f"export-{fmt}"
        code, text = cli("export", str(spec), "--format", fmt, "--out", str(out), connect=False)
        assert code == 0, text
        printed = "".join(p.read_text() for p in out.rglob("*") if p.is_file())
        assert f"repo:{claim}:environment:production" in printed and "repo:contoso/deploy:" not in printed, fmt


def test_a_repository_typed_with_its_ids_is_kept_as_the_name_and_the_ids(sandbox, tmp_path):
    owner_id, repository_id = ids(sandbox)
    spec = load_spec(write_spec(tmp_path, f"contoso@{owner_id}/deploy@{repository_id}"))
    assert (spec.target.repository, spec.target.owner_id, spec.target.repository_id) == (
        "contoso/deploy", owner_id, repository_id)
    assert spec.validate() == []


@pytest.mark.parametrize("repository,extra,expected", [
    ("contoso/deploy", "owner_id = -5\nrepository_id = 7\n", "target.owner_id: -5 is not a GitHub id"),
    ("contoso/deploy", "owner_id = 5\n", "needs both owner_id and repository_id"),
    ("contoso/deploy", 'subject_form = "immutable"\n', "needs both owner_id and repository_id"),
    ("contoso/deploy", 'subject_form = "ids"\n', "target.subject_form: 'ids' is not one of immutable, name"),
    ("contoso@5/deploy@7", "owner_id = 6\n", "names owner id 5 and repository id 7, but owner_id = 6"),
    ("contoso@x/deploy", "", "is not ORGANISATION/REPOSITORY"),
    ("contoso/deploy", 'owner_id = "5"\n', "expected a whole number"),
])
def test_bad_ids_are_exit_2_with_the_fix_and_nothing_written(cli, sandbox, tmp_path, repository, extra, expected):
    mark = len(sandbox.calls)
    code, text = cli("apply", str(write_spec(tmp_path, repository, extra)), "--yes")
    assert code == 2, text
    assert expected in text
    assert not [c for c in sandbox.calls[mark:] if c.method not in ("GET", "HEAD") and c.plane in ("arm", "vault")]
    assert not (tmp_path / "state" / "gh-immutable.json").exists()


def test_capture_reads_an_immutable_subject_back_into_the_repository_and_its_ids(cli, az, sandbox, tmp_path):
    rg, loc = "rg-hand-gh", "eastus"
    az.resources.resource_groups.create_or_update(rg, {"location": loc})
    identity = az.msi.user_assigned_identities.create_or_update(rg, "id-deploy", {"location": loc})
    subject = "repo:octocat@123456/my-repo@456789:ref:refs/heads/main"
    az.msi.federated_identity_credentials.create_or_update(rg, "id-deploy", "deploy-main", {"properties": {
        "issuer": GITHUB_ISSUER, "subject": subject, "audiences": [EXCHANGE]}})
    feds = ("--federation", "github:octocat@123456/my-repo@456789:branch:main")
    code, text = cli("doctor", "--identity", identity.id, *feds, "--json")
    assert code == 0, text
    spec_path = tmp_path / "captured.toml"
    code, text = cli("capture", "--identity", identity.id, *feds, "--out", str(spec_path))
    assert code == 0, text
    target = load_spec(spec_path).target
    assert (target.repository, target.owner_id, target.repository_id, target.subject_form) == (
        "octocat/my-repo", 123456, 456789, "")
    assert [(c.branch, c.name) for c in target.credentials] == [("main", "deploy-main")]
    assert target.subject(target.credentials[0]) == subject
    assert 'repository = "octocat/my-repo"' in spec_path.read_text()
