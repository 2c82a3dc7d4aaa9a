"""Drift at 80x24: the setups list marks a setup whose grant was deleted out of band, and resuming it shows what
changed since the last run before it goes on."""

from __future__ import annotations

import json

import pytest

from tests.e2e.engine.conftest import Harness, build_spec
from tests.ui.helpers import wait_for

from .conftest import FIXED_TIME

pytestmark = pytest.mark.timeout(90)


@pytest.fixture
def drifted(snap_sandbox, snap_state_dir, write_setup):
    """`prefect-flows` applied on the sandbox, then its grant deleted by hand; `platform-flyte` still being chosen."""
    harness = Harness(snap_sandbox, snap_state_dir)
    engine = harness.engine(build_spec(name="prefect-flows", subscription=snap_sandbox.subscription_ids[0],
                                       verify={"probe": False}))  # the probe is not what these screens show
    engine.apply()
    grant = engine.state.step("grant").outputs
    harness.clients().authorization.role_assignments.delete(grant["scope"], grant["assignment_name"])
    path = snap_state_dir / "prefect-flows.json"
    state = json.loads(path.read_text())
    state.update(updated=FIXED_TIME, created=FIXED_TIME, ui={"screen": "result", "cloud": "sandbox"})
    for record in state["steps"].values():
        record["updated"] = FIXED_TIME
    path.write_text(json.dumps(state))
    write_setup("platform-flyte", screen="vault")


async def _drift_shown(pilot) -> None:
    await wait_for(pilot, lambda: any(s.drifted for s in pilot.app.screen.setups), what="the drift", timeout=30)
    await pilot.pause()


def test_welcome_marks_the_drifted_setup(snap_compare, snap_app, drifted):
    assert snap_compare(snap_app(), run_before=_drift_shown)


def test_resume_shows_what_changed_since_the_last_run(snap_compare, snap_app, drifted):
    async def run_before(pilot):
        await _drift_shown(pilot)
        names = [s.name for s in pilot.app.screen.setups]
        pilot.app.screen.query_one("#setups").move_cursor(row=names.index("prefect-flows"))
        await pilot.press("r")
        await wait_for(pilot, lambda: type(pilot.app.screen).__name__ == "ConfirmDialog", what="the notice", timeout=30)
        await pilot.pause()
    assert snap_compare(snap_app(), run_before=run_before)
