"""Each example spec applies as it is on a fresh `--sandbox` through the CLI, passes verify, and plans nothing
more afterwards; a second apply of it writes nothing; doctor checks the workloads' chains from the outside."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from wizard.engine import verify_setup
from wizard.spec import load_spec

from .engine.conftest import Harness

ROOT = Path(__file__).resolve().parents[1].parent
SECRET = "example-s3cret-value-that-must-stay-hidden"
EXAMPLES = {
    "batch-pool": ["identity", "attached", "grant", "secret", "grant_extra:Storage Blob Data Contributor@raw", "nodes",
                   "probe"],
    "aks-workload-identity": ["identity", "federation:aks-aks-apps-default-workload-sa", "cluster:aks-apps", "grant",
                              "secret", "grant_extra:Storage Blob Data Contributor@raw"],
    "github-oidc": ["identity", "federation:github-contoso-infra-branch-main",
                    "federation:github-contoso-infra-environment-production", "grant_extra:Contributor@rg-gh-runner"],
    "platform-grants": ["identity", "grant", "secret", "grant_extra:Storage Blob Data Contributor@raw",
                        "grant_extra:AcrPull@acrcontoso"],
}


@pytest.fixture
def run(tmp_path):
    env = {**os.environ, "MI_WIZARD_SANDBOX_DIR": str(tmp_path / "sandbox"),
           "MI_WIZARD_STATE_DIR": str(tmp_path / "state"), "EXAMPLE_SECRET": SECRET}

    def invoke(*args: str) -> subprocess.CompletedProcess:
        result = subprocess.run([sys.executable, "-m", "wizard", *args], env=env, cwd=ROOT, capture_output=True,
                                text=True, timeout=180)
        assert SECRET not in result.stdout + result.stderr
        return result
    return invoke


@pytest.mark.parametrize("name", list(EXAMPLES))
def test_example_applies_as_is_on_a_fresh_sandbox_and_passes_verify(run, tmp_path, name):
    applied = run("apply", f"examples/{name}.toml", "--sandbox", "--yes", "--secret-from", "env:EXAMPLE_SECRET",
                  "--json")
    assert applied.returncode == 0, applied.stderr
    result = json.loads(applied.stdout)
    assert result["verify"]["passed"] is True, result["verify"]
    assert [link["link"] for link in result["verify"]["links"]] == EXAMPLES[name]
    assert result["next_steps"].startswith("Identity ")
    plan = run("plan", f"examples/{name}.toml", "--sandbox", "--json")
    assert plan.returncode == 0 and {i["action"] for i in json.loads(plan.stdout)["items"]} == {"nothing"}
    for path in (tmp_path / "state").rglob("*"):
        if path.is_file():
            assert SECRET.encode() not in path.read_bytes()


@pytest.mark.parametrize("name", list(EXAMPLES))
def test_second_apply_of_each_example_writes_nothing(harness, sandbox, name):
    sandbox.realism.lro_seconds.update(batch_resize_down=0.1, batch_resize_up=0.1)
    spec = load_spec(ROOT / "examples" / f"{name}.toml")
    first = harness.engine(spec)
    first.apply()
    assert verify_setup(first).passed
    mark = len(sandbox.calls)
    second = harness.engine(spec)
    assert {i.action for i in second.plan().items} == {"nothing"}
    second.apply()
    assert verify_setup(second).passed
    assert harness.writes_since(mark) == []


def test_doctor_checks_federations_grants_and_a_pool_and_names_the_broken_link(run):
    for name in ("github-oidc", "batch-pool"):
        assert run("apply", f"examples/{name}.toml", "--sandbox", "--yes", "--secret-from", "env:EXAMPLE_SECRET",
                   "--no-verify").returncode == 0
    github = json.loads(run("status", "github-oidc", "--offline", "--json").stdout)["steps"]
    identity = github["identity"]["outputs"]["id"]
    group = identity.split("/providers/")[0]
    ok = run("doctor", "--identity", identity, "--federation", "github:contoso/infra:branch:main",
             "--federation", "github:contoso/infra:environment:production", "--grant", f"Contributor@{group}",
             "--sandbox", "--json")
    assert ok.returncode == 0, ok.stdout + ok.stderr
    broken = run("doctor", "--identity", identity, "--federation", "github:contoso/infra:tag:v9", "--sandbox", "--json")
    assert broken.returncode == 5
    report = json.loads(broken.stdout)
    failed = [link["link"] for link in report["links"] if not link["ok"]]
    assert failed == ["federation:repo:contoso/infra:ref:refs/tags/v9"]
    batch = json.loads(run("status", "batch-pool", "--offline", "--json").stdout)["steps"]
    pool = run("doctor", "--identity", batch["identity"]["outputs"]["id"], "--vault", "kv-batch-etl", "--secret",
               "db-password", "--pool", batch["batch"]["outputs"]["id"], "--sandbox", "--json")
    assert pool.returncode == 0, pool.stdout + pool.stderr
    assert [link["link"] for link in json.loads(pool.stdout)["links"]][-2:] == ["nodes", "probe"]
    bad = run("doctor", "--identity", identity, "--federation", "gitlab:x", "--sandbox")
    assert bad.returncode == 2 and "expected aks:CLUSTER_ID" in bad.stdout


@pytest.fixture
def harness(sandbox, tmp_path) -> Harness:
    return Harness(sandbox, tmp_path / "state")
