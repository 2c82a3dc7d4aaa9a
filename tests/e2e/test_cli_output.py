"""What the headless commands print: --json streams progress as JSON lines on stderr with the result on stdout;
--debug logs each HTTP call (method, URL, status, time) and never a body or a header, so never the secret value
nor a token; completion scripts and help on every argument."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SECRET = "cli-output-s3cret-that-must-stay-hidden"


@pytest.fixture
def run(tmp_path):
    env = {**os.environ, "MI_WIZARD_SANDBOX_DIR": str(tmp_path / "sandbox"),
           "MI_WIZARD_STATE_DIR": str(tmp_path / "state"), "GIT_TOKEN": SECRET}

    def invoke(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "wizard", *args], env=env, cwd=ROOT, capture_output=True,
                              text=True, timeout=180)
    return invoke


def test_json_streams_events_on_stderr_and_the_result_on_stdout(run):
    applied = run("apply", "examples/prefect-aci.toml", "--sandbox", "--yes", "--secret-from", "env:GIT_TOKEN",
                  "--json")
    assert applied.returncode == 0, applied.stderr[-2000:]
    assert json.loads(applied.stdout)["verify"]["passed"] is True
    events = [json.loads(line) for line in applied.stderr.splitlines() if line.strip()]
    kinds = {e["event"] for e in events}
    assert {"StepStarted", "StepFinished", "CheckResult"} <= kinds
    assert [e["step"] for e in events if e["event"] == "StepStarted"][0] == "resource_group"
    assert SECRET not in applied.stdout + applied.stderr


def test_debug_logs_each_call_and_never_a_body_or_a_token(run):
    applied = run("apply", "examples/prefect-aci.toml", "--sandbox", "--yes", "--secret-from", "env:GIT_TOKEN",
                  "--debug")
    assert applied.returncode == 0, applied.stderr[-2000:]
    calls = [line for line in applied.stderr.splitlines() if line.startswith("debug: ")]
    assert any(line.startswith("debug: PUT ") and "/secrets/git-token?" in line and "-> 201" in line
               for line in calls), calls[:5]
    assert all(" -> " in line and line.endswith(" ms)") or line.split(" -> ")[1].isidentifier() for line in calls)
    everything = applied.stdout + applied.stderr
    assert SECRET not in everything
    assert "Bearer" not in everything and "eyJ" not in everything  # no Authorization header, no JWT


def test_completion_scripts_and_help_on_every_argument(run):
    for shell in ("bash", "zsh"):
        script = run("completion", shell)
        assert script.returncode == 0 and "mi-wizard" in script.stdout and "destroy" in script.stdout
    from wizard.cli import build_parser
    parser = build_parser()
    undocumented = []
    for action in parser._actions:  # argparse keeps its actions here; it has no public walk
        choices = getattr(action, "choices", None)
        if isinstance(choices, dict):  # the subcommands
            for name, sub in choices.items():
                undocumented += [f"{name} {a.dest}" for a in sub._actions if not a.help]
        elif not action.help:
            undocumented.append(action.dest)
    assert undocumented == []


def test_status_lists_setups_under_a_header_and_done_steps_in_the_past_tense(run):
    assert run("apply", "examples/prefect-aci.toml", "--sandbox", "--yes", "--secret-from", "env:GIT_TOKEN",
               "--no-verify").returncode == 0
    listed = run("status")
    assert listed.returncode == 0
    header, *rows = listed.stdout.splitlines()
    assert header.split() == ["SETUP", "STEPS", "LAST", "RUN", "TARGET"]
    assert rows[0].startswith("prefect-aci") and "ACI cg-prefect-flow" in rows[0]
    one = run("status", "prefect-aci", "--offline")
    steps = {line.split()[0]: line.split()[1:3] for line in one.stdout.splitlines()[1:] if line.startswith("  ")
             and not line.strip().startswith(("error", "DRIFT"))}
    assert steps["identity"] == ["done", "created"] and steps["aci"] == ["done", "created"]
    assert "create " not in one.stdout.replace("created", "")  # no present tense for what is done


def test_plan_never_prints_an_empty_reason(run, tmp_path):
    # A vault name held by a vault elsewhere in the subscription: the vault step plans nothing, with a problem.
    spec = tmp_path / "taken.toml"
    spec.write_text((ROOT / "examples" / "prefect-aci.toml").read_text().replace('"kv-prefect-flows"',
                                                                                 '"kv-legacy-ap"'))
    planned = run("plan", str(spec), "--sandbox", "--secret-from", "env:GIT_TOKEN")
    assert planned.returncode == 3, planned.stdout + planned.stderr
    assert not [line for line in planned.stdout.splitlines() if line.rstrip().endswith(":")
                and line.split()[0] in ("CREATE", "UPDATE", "ADOPT", "NOTHING", "RECOVER", "CHECK")]
    assert "Key Vault: cannot be planned: vault.name:" in planned.stdout
