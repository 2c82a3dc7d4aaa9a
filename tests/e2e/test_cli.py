"""The headless CLI as a user runs it: separate processes sharing the persistent `--sandbox`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SECRET = "cli-s3cret-value-that-must-stay-hidden"


@pytest.fixture
def run(tmp_path):
    env = {**os.environ, "MI_WIZARD_SANDBOX_DIR": str(tmp_path / "sandbox"), "MI_WIZARD_STATE_DIR": str(tmp_path / "state"),
           "GIT_TOKEN": SECRET}

    def invoke(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
        result = subprocess.run([sys.executable, "-m", "wizard", *args], env=env, cwd=ROOT, input=stdin,
                                capture_output=True, text=True, timeout=180)
        assert SECRET not in result.stdout + result.stderr
        return result
    return invoke


def test_example_spec_applies_as_is_on_a_fresh_sandbox_then_status_plan_verify_doctor(run, tmp_path):
    applied = run("apply", "examples/prefect-aci.toml", "--sandbox", "--yes", "--secret-from", "env:GIT_TOKEN", "--json")
    assert applied.returncode == 0, applied.stderr
    result = json.loads(applied.stdout)
    assert result["verify"]["passed"] is True
    assert [link["link"] for link in result["verify"]["links"]] == ["identity", "attached", "grant", "secret", "probe"]

    status = run("status", "prefect-aci", "--sandbox", "--json")  # the state, and its drift read from the sandbox
    state = json.loads(status.stdout)
    assert status.returncode == 0 and state["steps"]["aci"]["status"] == "done"
    assert state["drift"]["checked"] is True and state["drift"]["items"] == []
    identity_id = state["steps"]["identity"]["outputs"]["id"]
    group_id = state["steps"]["aci"]["outputs"]["id"]

    plan = run("plan", "examples/prefect-aci.toml", "--sandbox", "--json")
    assert plan.returncode == 0
    assert {item["action"] for item in json.loads(plan.stdout)["items"]} == {"nothing"}

    verified = run("verify", "prefect-aci", "--sandbox")
    assert verified.returncode == 0, verified.stderr
    assert "[ok ] probe" in verified.stderr

    doctor = run("doctor", "--identity", identity_id, "--vault", "kv-prefect-flows", "--secret", "git-token",
                 "--container-group", group_id, "--sandbox", "--json")
    assert doctor.returncode == 0 and json.loads(doctor.stdout)["passed"] is True

    listing = run("status")
    assert "prefect-aci" in listing.stdout and "7/7" in listing.stdout  # its steps (the verification is no step)
    for path in (tmp_path / "state").rglob("*"):
        if path.is_file():
            assert SECRET.encode() not in path.read_bytes()


def test_doctor_names_a_broken_link_with_exit_code_5(run):
    applied = run("apply", "examples/prefect-aci.toml", "--sandbox", "--yes", "--secret-from", "env:GIT_TOKEN",
                  "--no-verify")
    assert applied.returncode == 0, applied.stderr
    state = json.loads(run("status", "prefect-aci", "--offline", "--json").stdout)
    identity_id = state["steps"]["identity"]["outputs"]["id"]
    doctor = run("doctor", "--identity", identity_id, "--vault", "kv-prefect-flows", "--secret", "no-such-secret",
                 "--sandbox", "--json", "--no-probe")
    assert doctor.returncode == 5
    report = json.loads(doctor.stdout)
    # The grant is scoped to git-token, so for another name both links are broken: each is named.
    assert {link["link"] for link in report["links"] if not link["ok"]} == {"grant", "secret"}


def test_bad_spec_is_exit_2_with_the_line_and_the_fix(run, tmp_path):
    spec = tmp_path / "bad.toml"
    spec.write_text('name = "x"\nsubscription = "Contoso Dev"\nresource_group = "rg"\n[vault]\nnmae = "kv"\n')
    result = run("plan", str(spec), "--sandbox")
    assert result.returncode == 2
    assert "unknown key nmae" in result.stdout and "Known keys" in result.stdout


def test_plan_problems_are_exit_3_and_nothing_changes(run, tmp_path):
    spec = tmp_path / "taken.toml"
    text = (ROOT / "examples" / "prefect-aci.toml").read_text().replace('"kv-prefect-flows"', '"kv-contoso"')
    spec.write_text(text)
    result = run("apply", str(spec), "--sandbox", "--yes", "--secret-from", "env:GIT_TOKEN")
    assert result.returncode == 3
    assert "VaultAlreadyExists" in result.stdout and "nothing was changed" in result.stdout


def test_apply_without_yes_and_without_a_terminal_refuses(run):
    result = run("apply", "examples/prefect-aci.toml", "--sandbox", "--secret-from", "env:GIT_TOKEN", stdin="")
    assert result.returncode == 2 and "--yes" in result.stdout


def test_secret_value_on_the_command_line_is_refused(run):
    result = run("plan", "examples/prefect-aci.toml", "--sandbox", "--secret-from", "hunter2")
    assert result.returncode == 2 and "never goes on the command line" in result.stdout


def test_corrupt_state_file_is_refused_and_left_untouched(run, tmp_path):
    state_dir = tmp_path / "state"
    state_dir.mkdir(parents=True)
    broken = state_dir / "prefect-aci.json"
    broken.write_text("{ not json")
    result = run("apply", "examples/prefect-aci.toml", "--sandbox", "--yes", "--secret-from", "env:GIT_TOKEN")
    assert result.returncode == 2 and "not valid JSON" in result.stdout
    assert broken.read_text() == "{ not json"
