"""The next-steps text per workload, the new spec parts (subjects, names, TOML round trip) and doctor's options."""

from __future__ import annotations

import pytest

from wizard.doctor_args import DoctorArgError, parse_federation, parse_grant
from wizard.outputs import next_steps
from wizard.spec import Spec, dump_spec
from wizard.targets.aks import AksTarget
from wizard.targets.github import GithubCredential

try:
    import tomllib
except ModuleNotFoundError:  # pragma: no cover
    import tomli as tomllib

SUB = "11111111-2222-3333-4444-555555555555"
IDENTITY = {"id": f"/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-x",
            "name": "id-x", "client_id": "c1d2-client", "tenant_id": "t-tenant", "principal_id": "p-principal"}
VAULT = {"vault": {"vault_uri": "https://kv-x.vault.azure.net/"}}


def spec(**parts) -> dict:
    return {"vault": {"name": "kv-x"}, "secret": {"name": "git-token"}, "target": {"kind": "none"}, **parts}


def test_aci_names_the_work_pool_identity_field_and_azure_client_id():
    text = next_steps(spec(target={"kind": "aci"}), {"identity": IDENTITY, **VAULT,
                                                     "aci": {"name": "cg-flow", "id": "/x/cg-flow"}})
    assert IDENTITY["id"] in text and "identity field" in text
    assert "AZURE_CLIENT_ID=c1d2-client" in text
    assert "ManagedIdentityCredential(client_id=os.environ[\"AZURE_CLIENT_ID\"])" in text
    assert "SecretClient('https://kv-x.vault.azure.net/', credential).get_secret('git-token')" in text


def test_batch_gives_the_job_code_snippet_and_warns_about_stale_nodes():
    outputs = {"identity": IDENTITY, **VAULT,
               "batch": {"name": "pool-etl", "account": "contosobatch", "nodes_without_identity": True},
               "rescale": {"phase": "not_needed"}}
    text = next_steps(spec(target={"kind": "batch", "pool": "pool-etl"}), outputs)
    assert "ManagedIdentityCredential(client_id='c1d2-client')" in text and "pool-etl" in text
    assert "booted before the identity was added" in text
    outputs["rescale"] = {"phase": "done"}
    assert "booted before" not in next_steps(spec(target={"kind": "batch"}), outputs)


def test_aks_gives_the_service_account_manifest_and_the_pod_label():
    credential = {"kind": "aks", "name": "fic", "subject": "system:serviceaccount:apps:api-sa", "namespace": "apps",
                  "service_account": "api-sa"}
    text = next_steps(spec(target={"kind": "aks"}), {"identity": IDENTITY, **VAULT, "aks": {"credentials": [credential]}})
    manifest = text[text.index("apiVersion: v1"):]
    assert "kind: ServiceAccount" in manifest and "name: api-sa" in manifest and "namespace: apps" in manifest
    assert 'azure.workload.identity/client-id: "c1d2-client"' in manifest
    assert 'azure.workload.identity/use: "true"' in text and "serviceAccountName: api-sa" in text
    assert "DefaultAzureCredential()" in text and "ManagedIdentityCredential" not in text


@pytest.mark.parametrize("subject,trigger", [
    ("repo:o/r:ref:refs/heads/main", "branches: [main]"),
    ("repo:o/r:environment:production", "environment: production"),
    ("repo:o/r:ref:refs/tags/v1", 'tags: ["v1"]'),
    ("repo:o/r:pull_request", "on: pull_request"),
])
def test_github_gives_the_workflow_snippet(subject, trigger):
    credential = {"kind": "github", "name": "fic", "subject": subject}
    text = next_steps(spec(vault={"name": ""}, target={"kind": "github"}),
                      {"identity": IDENTITY, "github": {"credentials": [credential]}})
    assert "id-token: write" in text and "uses: azure/login@v2" in text
    assert "client-id: c1d2-client" in text and "tenant-id: t-tenant" in text and f"subscription-id: {SUB}" in text
    assert trigger in text and subject in text


def test_nothing_before_the_identity_exists():
    assert next_steps(spec(), {}) == ""


def test_aks_subject_and_default_name():
    target = AksTarget(cluster="aks1", namespace="ns", service_account="sa")
    assert (target.subject, target.name) == ("system:serviceaccount:ns:sa", "aks-aks1-ns-sa")


@pytest.mark.parametrize("credential,subject,name", [
    ({"branch": "main"}, "repo:o/r:ref:refs/heads/main", "github-o-r-branch-main"),
    ({"environment": "prod"}, "repo:o/r:environment:prod", "github-o-r-environment-prod"),
    ({"tag": "v1.0"}, "repo:o/r:ref:refs/tags/v1.0", "github-o-r-tag-v1-0"),
    ({"pull_request": True}, "repo:o/r:pull_request", "github-o-r-pull-request"),
])
def test_github_subjects_and_default_names(credential, subject, name):
    github = GithubCredential(**credential)
    assert (github.subject("o/r"), github.credential_name("o/r")) == (subject, name)


def test_new_spec_parts_round_trip_through_toml():
    data = {"name": "x", "subscription": "s", "resource_group": "rg", "identity": {"name": "id-x", "existing": True},
            "target": {"kind": "batch", "account": "acct", "pool": "p", "dedicated_nodes": 3,
                       "rescale_for_identity": True},
            "grant_extra": [{"role": "AcrPull", "scope": "resourceGroups/rg/providers/x/y/z", "note": "images"}]}
    original = Spec.from_dict(data)
    again = Spec.from_dict(tomllib.loads(dump_spec(original)))
    assert again == original and again.target.dedicated_nodes == 3 and not again.uses_vault
    assert again.validate() == []
    with pytest.raises(ValueError, match="whole number"):
        Spec.from_dict({**data, "target": {"kind": "batch", "dedicated_nodes": 1.5}})
    github = {**data, "target": {"kind": "github", "repository": "o/r", "credentials": [{"branch": "main"}]}}
    assert Spec.from_dict(tomllib.loads(dump_spec(Spec.from_dict(github)))) == Spec.from_dict(github)
    with pytest.raises(ValueError, match=r"target.credentials\[0\]: unknown key"):
        Spec.from_dict({**data, "target": {"kind": "github", "credentials": [{"repo": "o/r"}]}})
    with pytest.raises(ValueError, match=r"federation\[0\]: unknown key"):
        Spec.from_dict({**data, "target": {"kind": "none"}, "federation": [{"kind": "github", "repo": "o/r"}]})


def test_doctor_options_parse_into_federations_and_grants():
    aks = parse_federation("aks:/subscriptions/s/resourceGroups/rg/providers/Microsoft.ContainerService/"
                           "managedClusters/c1:apps:api-sa")
    assert aks["subject"] == "system:serviceaccount:apps:api-sa" and aks["cluster_id"].endswith("/c1")
    assert parse_federation("github:o/r:environment:prod")["subject"] == "repo:o/r:environment:prod"
    assert parse_federation("github:o/r:pull_request")["subject"] == "repo:o/r:pull_request"
    assert parse_grant("AcrPull@/subscriptions/s/x/")["scope"] == "/subscriptions/s/x"
    for bad in ("aks:nope", "github:o/r:release:x", "svn:x"):
        with pytest.raises(DoctorArgError):
            parse_federation(bad)
    with pytest.raises(DoctorArgError):
        parse_grant("AcrPull")


def test_roles_command_lists_the_curated_roles_with_what_they_allow(capsys):
    import json

    from wizard.cli import main
    assert main(["roles", "--json"]) == 0
    rows = {r["role"]: r for r in json.loads(capsys.readouterr().out)}
    assert rows["AcrPull"]["allows"] == "Pull images from a container registry." and not rows["AcrPull"]["warning"]
    assert "far more than" in rows["Contributor"]["warning"]
    assert {"Key Vault Secrets User", "Storage Blob Data Contributor", "Storage Blob Data Reader", "Reader"} <= set(rows)
