"""A plan is a contract: `plan --out PLAN` then `apply PLAN` does exactly its items, and a plan made stale by an
out-of-band change (or by another run) is refused before any write. `--detailed-exitcode` tells "changes
pending" from "nothing to do". Through the real CLI entry point, against the sandbox with the real SDK."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from wizard.cli import main

ROOT = Path(__file__).resolve().parents[2]
SECRET = "saved-plan-s3cret-never-in-the-plan"


@pytest.fixture
def cli(sandbox, tmp_path, monkeypatch, capsys):
    descriptor = tmp_path / "sandbox.json"
    sandbox.write_descriptor(descriptor)
    monkeypatch.setenv("MI_WIZARD_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("GIT_TOKEN", SECRET)

    def run(*args: str) -> tuple[int, str]:
        code = main([*args, "--sandbox-descriptor", str(descriptor)])
        out = capsys.readouterr()
        text = out.out + out.err
        assert SECRET not in text and "Traceback" not in text
        return code, text
    return run


def writes(sandbox, since: int) -> list:
    return [c for c in sandbox.calls[since:] if c.method not in ("GET", "HEAD") and c.plane in ("arm", "vault")
            and not c.path.lower().endswith("/checknameavailability")]


def test_saved_plan_applies_exactly_its_items(cli, sandbox, tmp_path):
    plan_file = tmp_path / "setup.plan"
    code, text = cli("plan", str(ROOT / "examples/prefect-aci.toml"), "--secret-from", "env:GIT_TOKEN",
                     "--out", str(plan_file), "--detailed-exitcode")
    assert code == 2, text  # changes pending
    saved = json.loads(plan_file.read_text())
    assert saved["kind"] == "mi-wizard-plan" and saved["state"] is None and saved["secret_from"] == "env:GIT_TOKEN"
    assert SECRET not in plan_file.read_text()
    assert plan_file.stat().st_mode & 0o077 == 0

    code, text = cli("apply", str(plan_file), "--json")
    assert code == 0, text
    state = json.loads((tmp_path / "state" / "prefect-aci.json").read_text())
    planned = {i["step"]: i["action"] for i in saved["items"]}
    applied = {step: record["action"] for step, record in state["steps"].items() if step in planned}
    assert applied == planned

    code, text = cli("plan", str(ROOT / "examples/prefect-aci.toml"), "--detailed-exitcode")
    assert code == 0, text  # nothing left to change


def test_a_saved_plan_applied_twice_is_stale_before_anything_else(cli, sandbox, tmp_path, monkeypatch):
    plan_file = tmp_path / "once.plan"
    assert cli("plan", str(ROOT / "examples/prefect-aci.toml"), "--secret-from", "env:GIT_TOKEN",
               "--out", str(plan_file))[0] == 0
    assert cli("apply", str(plan_file), "--no-verify")[0] == 0
    monkeypatch.delenv("GIT_TOKEN")  # the second apply would need the value: staleness is said first
    mark = len(sandbox.calls)
    code, text = cli("apply", str(plan_file))
    assert code == 2 and "stale" in text and "was created after this plan was made" in text
    assert "GIT_TOKEN" not in text
    assert writes(sandbox, mark) == []


def test_plan_made_stale_by_an_out_of_band_change_is_refused_before_any_write(cli, sandbox, tmp_path, az):
    plan_file = tmp_path / "setup.plan"
    code, text = cli("plan", str(ROOT / "examples/prefect-aci.toml"), "--secret-from", "env:GIT_TOKEN",
                     "--out", str(plan_file))
    assert code == 0, text
    # Someone makes the resource group by hand after the plan was reviewed: the plan's "create" no longer holds.
    az.resources.resource_groups.create_or_update("rg-prefect-flows", {"location": "eastus"})
    mark = len(sandbox.calls)
    code, text = cli("apply", str(plan_file))
    assert code == 2
    assert "stale" in text and "Resource group: create -> adopt" in text
    assert "mi-wizard plan SPEC --out PLAN" in text
    assert writes(sandbox, mark) == []
    assert not (tmp_path / "state" / "prefect-aci.json").exists()


def test_plan_made_stale_by_another_run_is_refused(cli, sandbox, tmp_path):
    spec = str(ROOT / "examples/prefect-aci.toml")
    assert cli("apply", spec, "--secret-from", "env:GIT_TOKEN", "--yes", "--no-verify")[0] == 0
    plan_file = tmp_path / "again.plan"
    assert cli("plan", spec, "--out", str(plan_file))[0] == 0
    assert json.loads(plan_file.read_text())["state"]["serial"] > 0
    assert cli("apply", spec, "--secret-from", "env:GIT_TOKEN", "--yes", "--no-verify")[0] == 0  # moves the serial
    mark = len(sandbox.calls)
    code, text = cli("apply", str(plan_file))
    assert code == 2 and "the state moved on since the plan" in text
    assert writes(sandbox, mark) == []


def test_a_file_that_is_not_a_plan_is_refused_with_the_fix(cli, tmp_path):
    bogus = tmp_path / "bogus.plan"
    bogus.write_text('{"kind": "mi-wizard-plan", "version": 99}')
    code, text = cli("apply", str(bogus))
    assert code == 2 and "format 99" in text and "Make the plan again" in text
