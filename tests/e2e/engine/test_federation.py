"""Federated credentials on the sandbox: GitHub Actions subjects for a branch, an environment, a tag and pull
requests (each then exchanged for a real token with a GitHub-shaped OIDC token), and AKS workload identity with
the issuer read from the cluster through ARM; the outputs a user needs; adoption; the broken link named."""

from __future__ import annotations

import pytest
from azure.core.exceptions import ClientAuthenticationError
from azure.identity import ClientAssertionCredential

from wizard.engine import verify_setup
from wizard.outputs import next_steps_for_state
from wizard.sandbox.providers.oidc import mint_github_token, mint_service_account_token
from wizard.spec import GITHUB_ISSUER

from .conftest import build_spec

REPO = "contoso/infra"
CREDENTIALS = [{"branch": "main"}, {"environment": "production"}, {"tag": "v1.2.0"}, {"pull_request": True}]
RUNNER = {"runner_resource_group": "rg-gh-runner", "runner_role": "Reader"}
SUBJECTS = [f"repo:{REPO}:ref:refs/heads/main", f"repo:{REPO}:environment:production",
            f"repo:{REPO}:ref:refs/tags/v1.2.0", f"repo:{REPO}:pull_request"]


def github_spec(credentials=CREDENTIALS, **target):
    return build_spec(resource_group="rg-gh-runner", vault={"name": ""}, target={
        "kind": "github", "repository": REPO, "credentials": credentials, **({} if target else RUNNER), **target})


def aks_spec(**target):
    return build_spec(resource_group="rg-aks-apps", location="westus2", target={
        "kind": "aks", "cluster": "aks-apps", "namespace": "apps", "service_account": "api-sa", **target})


def exchange(sandbox, client_id: str, assertion: str) -> str:
    """What azure/login or the AKS webhook's SDK does: trade the workload's OIDC token for an Azure token."""
    credential = ClientAssertionCredential(sandbox.tenant_id, client_id, lambda: assertion,
                                           authority=sandbox.authority, disable_instance_discovery=True,
                                           connection_verify=str(sandbox.ca_path))
    return credential.get_token("https://management.azure.com/.default").token


def test_github_subjects_for_branch_environment_tag_and_pull_request(harness, sandbox):
    engine = harness.engine(github_spec())
    plan = engine.plan()
    assert not plan.problems, plan.problems
    assert [i.step for i in plan.items] == ["resource_group", "identity", "grants", "github"]  # no vault steps
    state = engine.apply(plan)
    report = verify_setup(engine)
    assert report.passed, report.to_dict()
    assert [link.name for link in report.links] == ["identity"] + [
        f"federation:{c['name']}" for c in state.step("github").outputs["credentials"]] + [
        "grant_extra:Reader@rg-gh-runner"]
    az = harness.clients()
    fics = list(az.msi.federated_identity_credentials.list("rg-gh-runner", "id-flows"))
    assert sorted(f.subject for f in fics) == sorted(SUBJECTS)
    assert {f.issuer for f in fics} == {GITHUB_ISSUER}
    assert all(f.audiences == ["api://AzureADTokenExchange"] for f in fics)
    client_id = state.step("identity").outputs["client_id"]
    # Each credential lets exactly its workflow runs in: the subjects are GitHub's own format.
    for ref, environment, event in (("refs/heads/main", None, "push"), (None, "production", "push"),
                                    ("refs/tags/v1.2.0", None, "push"), ("refs/pull/7/merge", None, "pull_request")):
        token, _ = mint_github_token(sandbox, REPO, ref=ref, environment=environment, event_name=event)
        assert exchange(sandbox, client_id, token)
    other_branch, _ = mint_github_token(sandbox, REPO, ref="refs/heads/dev")
    with pytest.raises(ClientAuthenticationError, match="AADSTS70021"):
        exchange(sandbox, client_id, other_branch)
    steps = next_steps_for_state(state)
    assert "id-token: write" in steps and "azure/login@v2" in steps and f"client-id: {client_id}" in steps
    assert f"tenant-id: {sandbox.tenant_id}" in steps and f"subscription-id: {sandbox.subscription_ids[0]}" in steps
    mark = len(sandbox.calls)
    again = harness.engine(github_spec())
    assert {i.action for i in again.plan().items} == {"nothing"}
    again.apply()
    assert verify_setup(again).passed and harness.writes_since(mark) == []


def test_aks_credential_uses_the_clusters_issuer_and_outputs_the_manifest(harness, sandbox):
    engine = harness.engine(aks_spec())
    plan = engine.plan()
    assert not plan.problems, plan.problems
    state = engine.apply(plan)
    report = verify_setup(engine)
    assert report.passed, report.to_dict()
    names = [link.name for link in report.links]
    assert names[:3] == ["identity", "federation:aks-aks-apps-apps-api-sa", "cluster:aks-apps"]
    assert names[3:] == ["grant", "secret"]
    az = harness.clients()
    cluster = az.resources.resources.get_by_id(
        f"/subscriptions/{sandbox.subscription_ids[0]}/resourceGroups/rg-aks-apps/providers/"
        "Microsoft.ContainerService/managedClusters/aks-apps", api_version="2024-09-01")
    fic = az.msi.federated_identity_credentials.get("rg-aks-apps", "id-flows", "aks-aks-apps-apps-api-sa")
    assert fic.issuer == cluster.properties["oidcIssuerProfile"]["issuerURL"]
    assert fic.subject == "system:serviceaccount:apps:api-sa"
    client_id = state.step("identity").outputs["client_id"]
    # A pod's projected token (what the webhook hands to the SDK) is accepted for the identity.
    from wizard.sandbox.arm import get
    token, _ = mint_service_account_token(sandbox, get(sandbox, cluster.id), "apps", "api-sa")
    assert exchange(sandbox, client_id, token)
    steps = next_steps_for_state(state)
    assert "kind: ServiceAccount" in steps and "name: api-sa" in steps and "namespace: apps" in steps
    assert f'azure.workload.identity/client-id: "{client_id}"' in steps
    assert 'azure.workload.identity/use: "true"' in steps and "serviceAccountName: api-sa" in steps
    mark = len(sandbox.calls)
    again = harness.engine(aks_spec())
    again.apply()
    assert harness.writes_since(mark) == []
    # The credential deleted out of band: verify names it, and a resume puts it back.
    az.msi.federated_identity_credentials.delete("rg-aks-apps", "id-flows", "aks-aks-apps-apps-api-sa")
    report = verify_setup(again, probe=False)
    assert report.broken.name == "federation:aks-aks-apps-apps-api-sa"
    assert "system:serviceaccount:apps:api-sa" in report.broken.detail
    resumed = harness.engine(aks_spec())
    assert resumed.plan().item("aks").action == "create"
    resumed.apply()
    assert verify_setup(resumed, probe=False).passed


def test_a_credential_made_by_hand_for_the_same_subject_is_adopted(harness, sandbox):
    az = harness.clients()
    az.resources.resource_groups.create_or_update("rg-gh-runner", {"location": "eastus"})
    identity = az.msi.user_assigned_identities.create_or_update("rg-gh-runner", "id-flows", {"location": "eastus"})
    az.msi.federated_identity_credentials.create_or_update("rg-gh-runner", identity.name, "made-by-hand", {
        "properties": {"issuer": GITHUB_ISSUER, "subject": SUBJECTS[0], "audiences": ["api://AzureADTokenExchange"]}})
    spec = github_spec(CREDENTIALS[:1], runner_role="")
    mark = len(sandbox.calls)
    engine = harness.engine(spec)
    plan = engine.plan()
    assert plan.item("github").action == "adopt"
    assert any("made-by-hand: already federates" in d for d in plan.item("github").details)
    state = engine.apply(plan)
    assert [c["name"] for c in state.step("github").outputs["credentials"]] == ["made-by-hand"]
    assert not [c for c in harness.writes_since(mark) if c.operation == "federated_credential_create"]
    assert verify_setup(engine).passed


@pytest.mark.parametrize("fed,expected", [
    ({"cluster": "aks-missing"}, "no AKS cluster aks-missing"),
    ({"issuer": "https://issuer.example/other/"}, "is not cluster aks-apps's"),
])
def test_aks_plan_problems_are_explained_before_any_write(harness, sandbox, fed, expected):
    mark = len(sandbox.calls)
    plan = harness.engine(aks_spec(**fed)).plan()
    assert any(expected in p for p in plan.problems), plan.problems
    assert harness.writes_since(mark) == []


@pytest.mark.parametrize("credential,target,expected", [
    ({"branch": "main", "environment": "prod"}, {}, "exactly one of branch, environment, tag or pull_request"),
    ({"branch": "release/*"}, {}, "wildcard"),
    ({"tag": "v1"}, {"repository": "not-a-repo"}, "is not ORGANISATION/REPOSITORY"),
    ({"branch": "main"}, {"runner_role": "Reader"}, "runner_role and runner_resource_group go together"),
])
def test_github_spec_problems(credential, target, expected):
    spec = github_spec([credential], **target)
    assert any(expected in p for p in spec.validate()), spec.validate()


def test_more_than_twenty_credentials_is_refused():
    spec = github_spec([{"branch": f"b{n}"} for n in range(21)])
    assert any("at most 20" in p for p in spec.validate())


def test_a_spec_with_the_old_federation_blocks_is_read_as_its_target():
    """Specs written before AKS and GitHub were targets keep working: their [[federation]] blocks become the
    target; a mix that one target cannot hold is refused with what to do."""
    legacy = build_spec(resource_group="rg-gh-runner", vault={"name": ""}, target={"kind": "none"}, federation=[
        {"kind": "github", "repository": REPO, "branch": "main", **RUNNER},
        {"kind": "github", "repository": REPO, "environment": "production"}])
    assert legacy.target == github_spec(CREDENTIALS[:2]).target
    assert [g.role for g in legacy.extra_grants()] == ["Reader"]
    aks = build_spec(target={"kind": "none"}, federation=[{"kind": "aks", "cluster": "aks-apps", "namespace": "apps",
                                                          "service_account": "api-sa", "cluster_resource_group": "rg-x"}])
    assert (aks.target.kind, aks.target.resource_group, aks.target.subject) == (
        "aks", "rg-x", "system:serviceaccount:apps:api-sa")
    from wizard.spec import SpecError
    with pytest.raises(SpecError, match="A setup has one target"):
        build_spec(target={"kind": "none"}, federation=[{"kind": "aks", "cluster": "c", "service_account": "a"},
                                                        {"kind": "github", "repository": REPO, "branch": "main"}])
