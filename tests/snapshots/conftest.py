"""Snapshot fixtures: one sandbox for the module (the snapshots only read it), setups written with fixed times."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from screens.app import WizardApp, make_app
from wizard.azure.clients import make_credential
from wizard.azure.profiles import sandbox_profile
from wizard.draft import default_spec
from wizard.sandbox import running_sandbox
from wizard.session import Session
from wizard.state import State, StepRecord

FIXED_TIME = "2026-11-03T09:30:00Z"


@pytest.fixture(scope="module")
def snap_sandbox(tmp_path_factory):
    with running_sandbox(tmp_path_factory.mktemp("snap-sandbox"), seed="demo") as sb:
        yield sb


@pytest.fixture
def snap_state_dir(tmp_path) -> Path:
    return tmp_path / "state"


@pytest.fixture
def snap_app(snap_sandbox, snap_state_dir, monkeypatch):
    from textual.widgets import Input
    monkeypatch.setattr(Input, "_toggle_cursor", lambda self: None)  # no blinking between frames
    profile = sandbox_profile(snap_sandbox.descriptor())

    def build() -> WizardApp:
        return make_app(session_factory=lambda **_: Session(profile, make_credential(profile)), sandbox=True,
                        state_dir=snap_state_dir)
    return build


@pytest.fixture
def write_setup(snap_sandbox, snap_state_dir):
    """Write a setup's state file as a finished or half-finished run would have left it, at a fixed time."""
    def write(name: str, *, screen: str, steps: dict[str, str] | None = None, answers: dict[str, Any] | None = None,
              plan: list[dict[str, str]] | None = None, **spec_changes: Any) -> Path:
        spec = default_spec(name).to_dict()
        spec.update(subscription=snap_sandbox.subscription_ids[0], resource_group="rg-prefect-demo")
        for key, value in spec_changes.items():
            if key == "target" and value.get("kind", "aci") != spec[key].get("kind"):
                spec[key] = value  # another kind of target: its own table
            else:
                spec[key] = {**spec[key], **value} if isinstance(value, dict) else value
        state = State(name=name, spec=spec, serial=3, lineage=f"lineage-{name}", created=FIXED_TIME,
                      updated=FIXED_TIME, ui={"screen": screen, "cloud": "sandbox", "answers": answers or {}})
        if plan is not None:
            state.ui["plan"] = plan
        for step_id, status in (steps or {}).items():
            state.steps[step_id] = StepRecord(status=status, updated=FIXED_TIME)
        snap_state_dir.mkdir(parents=True, exist_ok=True)
        path = snap_state_dir / f"{name}.json"
        path.write_text(json.dumps(state.to_dict(), indent=2))
        return path
    return write
