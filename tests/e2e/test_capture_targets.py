"""Capture of the other targets: a Batch pool (the identity not attached to it) and GitHub federated credentials
(one missing on the identity), each made by hand through the SDK, become a spec whose `apply --sandbox` rebuilds
the setup (under mapped names) broken the same way: doctor on the original and on the replay names the same
broken links. A spec has one target: mixed targets are refused before anything is read or written.
Through the real CLI entry point, against one running sandbox."""

from __future__ import annotations

import json
import uuid

import pytest

from wizard.cli import main
from wizard.spec import load_spec
from wizard.spec_workloads import GITHUB_ISSUER

SECRET = "capture-targets-s3cret"
SECRETS_USER = "4633458b-17de-408a-b874-0445c86b69e6"
EXCHANGE = "api://AzureADTokenExchange"
IMAGE = {"imageReference": {"publisher": "canonical", "offer": "ubuntu-24_04-lts", "sku": "server",
                            "version": "latest"}, "nodeAgentSkuId": "batch.node.ubuntu 24.04"}


@pytest.fixture
def cli(sandbox, tmp_path, monkeypatch, capsys):
    descriptor = tmp_path / "sandbox.json"
    sandbox.write_descriptor(descriptor)
    monkeypatch.setenv("MI_WIZARD_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("CAPTURE_SECRET", SECRET)

    def run(*args: str) -> tuple[int, str]:
        code = main([*args, "--sandbox-descriptor", str(descriptor)])
        out = capsys.readouterr()
        text = out.out + out.err
        assert SECRET not in text and "Traceback" not in text, text
        return code, out.out if "--json" in args else text
    return run


def doctor_findings(cli, *args: str) -> list[str]:
    code, out = cli("doctor", *args, "--json")
    report = json.loads(out)
    assert code == (0 if report["passed"] else 5), report
    return [link["link"] for link in report["links"] if not link["ok"]]


def apply_replay(cli, spec_path, *extra: str) -> dict:
    code, out = cli("apply", str(spec_path), "--yes", *extra, "--json")
    assert code == 5, out  # applied, then verification names the rebuilt broken links
    return json.loads(cli("status", load_spec(spec_path).name, "--offline", "--json")[1])["steps"]


def test_batch_pool_without_the_identity_is_captured_and_replayed_with_the_same_findings(cli, az, sandbox, tmp_path):
    rg, loc = "rg-hand-pool", "westeurope"
    az.resources.resource_groups.create_or_update(rg, {"location": loc})
    identity = az.msi.user_assigned_identities.create_or_update(rg, "id-batch", {"location": loc})
    other = az.msi.user_assigned_identities.create_or_update(rg, "id-other", {"location": loc})
    vault = az.keyvault.vaults.begin_create_or_update(rg, "kv-hand-pool", {"location": loc, "properties": {
        "tenantId": sandbox.tenant_id, "sku": {"family": "A", "name": "standard"},
        "enableRbacAuthorization": True}}).result()
    az.keyvault.secrets.create_or_update(rg, "kv-hand-pool", "db-password", {"properties": {"value": SECRET}})
    az.authorization.role_assignments.create(f"{vault.id}/secrets/db-password", str(uuid.uuid4()), {"properties": {
        "roleDefinitionId": f"/subscriptions/{sandbox.subscription_ids[0]}/providers/Microsoft.Authorization/"
                            f"roleDefinitions/{SECRETS_USER}",
        "principalId": identity.principal_id, "principalType": "ServicePrincipal"}})
    az.batch.batch_account.begin_create(rg, "handbatch", {"location": loc}).result()
    # The identity was never added to the pool: the pool carries another one.
    pool = az.batch.pool.create(rg, "handbatch", "pool-app", {
        "identity": {"type": "UserAssigned", "userAssignedIdentities": {other.id: {}}},
        "properties": {"vmSize": "STANDARD_D4S_V3", "deploymentConfiguration": {"virtualMachineConfiguration": IMAGE},
                       "scaleSettings": {"fixedScale": {"targetDedicatedNodes": 2}}}})
    secret_args = ("--vault", "kv-hand-pool", "--secret", "db-password")
    before = doctor_findings(cli, "--identity", identity.id, *secret_args, "--pool", pool.id)
    assert before == ["attached"]  # the probe and the nodes are not judged on a pool without the identity

    spec_path = tmp_path / "pool-case.toml"
    mark = len(sandbox.calls)
    code, out = cli("capture", "--identity", identity.id, *secret_args, "--pool", pool.id, "--out", str(spec_path),
                    "--json")
    assert code == 0, out
    assert [c for c in sandbox.calls[mark:] if c.method not in ("GET", "HEAD") and c.plane in ("arm", "vault")] == []
    captured = json.loads(out)
    assert captured["names"] == {f"resource group {rg}": f"{rg}-repro", "vault kv-hand-pool": "kv-hand-pool-rp",
                                 "batch account handbatch": "handbatchrp"}
    assert [f["link"] for f in captured["findings"]] == [link for link in before if link != "probe"]
    assert any("create the group and the account" in n and "handbatchrp" in n for n in captured["notes"])
    spec = load_spec(spec_path)
    t = spec.target
    assert (t.kind, t.account, t.pool, t.existing) == ("batch", "handbatchrp", "pool-app", False)
    assert (t.vm_size, t.node_image, t.node_agent_sku, t.dedicated_nodes) == (
        "STANDARD_D4S_V3", "canonical:ubuntu-24_04-lts:server:latest", "batch.node.ubuntu 24.04", 2)
    assert spec.reproduce.not_attached and spec.reproduce.broken() == ["attached"]

    # As the note says: the account is made by hand where the replay runs (mi-wizard never creates accounts).
    az.resources.resource_groups.create_or_update(f"{rg}-repro", {"location": loc})
    az.batch.batch_account.begin_create(f"{rg}-repro", "handbatchrp", {"location": loc}).result()
    steps = apply_replay(cli, spec_path, "--secret-from", "env:CAPTURE_SECRET")
    replay_identity, replay_pool = steps["identity"]["outputs"]["id"], steps["batch"]["outputs"]["id"]
    assert f"/resourceGroups/{rg}-repro/" in replay_pool and "/batchAccounts/handbatchrp/pools/pool-app" in replay_pool
    after = doctor_findings(cli, "--identity", replay_identity, "--vault", "kv-hand-pool-rp", "--secret",
                            "db-password", "--pool", replay_pool)
    assert after == before
    assert doctor_findings(cli, "--identity", identity.id, *secret_args, "--pool", pool.id) == before  # untouched


def test_github_federation_with_a_missing_credential_is_captured_and_replayed_with_the_same_findings(
        cli, az, sandbox, tmp_path):
    rg, loc = "rg-hand-gh", "eastus"
    az.resources.resource_groups.create_or_update(rg, {"location": loc})
    identity = az.msi.user_assigned_identities.create_or_update(rg, "id-deploy", {"location": loc})
    az.msi.federated_identity_credentials.create_or_update(rg, "id-deploy", "deploy-main", {"properties": {
        "issuer": GITHUB_ISSUER, "subject": "repo:contoso/infra:ref:refs/heads/main", "audiences": [EXCHANGE]}})
    # No credential for the prod environment: deployments from it cannot sign in.
    feds = ("--federation", "github:contoso/infra:branch:main", "--federation", "github:contoso/infra:environment:prod")
    before = doctor_findings(cli, "--identity", identity.id, *feds)
    assert before == ["federation:repo:contoso/infra:environment:prod"]

    spec_path = tmp_path / "gh-case.toml"
    code, text = cli("capture", "--identity", identity.id, *feds, "--out", str(spec_path))
    assert code == 0, text
    assert f"resource group {rg} -> {rg}-repro" in text and "--secret-from" not in text
    spec = load_spec(spec_path)
    t = spec.target
    assert (t.kind, t.repository) == ("github", "contoso/infra")
    assert [(c.branch, c.environment, c.name) for c in t.credentials] == [("main", "", "deploy-main"), ("", "prod", "")]
    missing = t.credentials[1].credential_name("contoso/infra")
    assert spec.reproduce.missing_credentials == [missing] and spec.validate() == []

    steps = apply_replay(cli, spec_path)
    replay_identity = steps["identity"]["outputs"]["id"]
    assert f"/resourceGroups/{rg}-repro/" in replay_identity
    assert doctor_findings(cli, "--identity", replay_identity, *feds) == before
    assert doctor_findings(cli, "--identity", identity.id, *feds) == before  # the original untouched


@pytest.mark.parametrize("targets", [
    ("--container-group", "{rg}/providers/Microsoft.ContainerInstance/containerGroups/cg-app",
     "--federation", "github:contoso/infra:branch:main"),
    ("--pool", "{rg}/providers/Microsoft.Batch/batchAccounts/acct/pools/pool-app",
     "--federation", "aks:{rg}/providers/Microsoft.ContainerService/managedClusters/aks-apps:default:app"),
    ("--federation", "aks:{rg}/providers/Microsoft.ContainerService/managedClusters/aks-apps:default:app",
     "--federation", "github:contoso/infra:branch:main"),
    ("--federation", "github:contoso/infra:branch:main", "--federation", "github:contoso/other:branch:main"),
], ids=["group-and-github", "pool-and-aks", "aks-and-github", "two-repositories"])
def test_mixed_targets_are_refused_and_nothing_is_written(cli, sandbox, tmp_path, targets):
    rg = f"/subscriptions/{sandbox.subscription_ids[0]}/resourceGroups/rg-aks-apps"
    identity = f"{rg}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-app"
    mark = len(sandbox.calls)
    out = tmp_path / "mixed.toml"
    code, text = cli("capture", "--identity", identity, *(a.format(rg=rg) for a in targets), "--out", str(out))
    assert code == 2, text
    assert "capture one target at a time" in text
    assert not out.exists() and len(sandbox.calls) == mark  # refused before any sign-in or read


def test_aks_federation_refers_to_the_original_cluster_and_replays_the_missing_credential(cli, az, sandbox, tmp_path):
    rg, loc = "rg-hand-aks", "westus2"
    az.resources.resource_groups.create_or_update(rg, {"location": loc})
    identity = az.msi.user_assigned_identities.create_or_update(rg, "id-pods", {"location": loc})
    cluster_id = (f"/subscriptions/{sandbox.subscription_ids[0]}/resourceGroups/rg-aks-apps/providers/"
                  "Microsoft.ContainerService/managedClusters/aks-apps")  # the demo seed's cluster
    fed = ("--federation", f"aks:{cluster_id}:payments:api")  # no credential on the identity for it
    before = doctor_findings(cli, "--identity", identity.id, *fed)
    assert before == ["federation:system:serviceaccount:payments:api"]  # the cluster itself is fine

    spec_path = tmp_path / "aks-case.toml"
    code, text = cli("capture", "--identity", identity.id, *fed, "--out", str(spec_path))
    assert code == 0, text
    assert "note: target.cluster: mi-wizard does not create AKS clusters" in text
    spec = load_spec(spec_path)
    t = spec.target
    assert (t.kind, t.cluster, t.resource_group, t.namespace, t.service_account) == (
        "aks", "aks-apps", "rg-aks-apps", "payments", "api")  # the original cluster, by name and group
    assert spec.reproduce.missing_credentials == [t.name]

    steps = apply_replay(cli, spec_path)
    replay_identity = steps["identity"]["outputs"]["id"]
    assert f"/resourceGroups/{rg}-repro/" in replay_identity
    assert doctor_findings(cli, "--identity", replay_identity, *fed) == before
    assert list(az.msi.federated_identity_credentials.list(rg, "id-pods")) == []  # the original untouched
