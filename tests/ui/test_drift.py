"""Drift in the UI: the setups list is shown at once and marks a drifted setup once its drift was read in the
background (only setups on the connected cloud are read); resume shows what changed before it goes on."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from screens.app import make_app
from tests.e2e.engine.conftest import Harness, build_spec
from tests.ui.helpers import on, screen_text, wait_for
from wizard.azure.clients import make_credential
from wizard.draft import Draft
from wizard.session import Session

pytestmark = pytest.mark.timeout(120)


class GatedSession(Session):
    """A sandbox session whose Azure reads wait until the test opens the gate."""

    gate: threading.Event

    def for_subscription(self, subscription_id: str) -> Any:
        assert self.gate.wait(60), "the gate was never opened"
        return super().for_subscription(subscription_id)


def made_and_broken(sandbox, state_dir) -> None:
    """A finished setup on the sandbox whose grant was then deleted out of band, and one made on Azure."""
    harness = Harness(sandbox, state_dir)
    engine = harness.engine(build_spec(name="drifted"))
    engine.apply()
    Draft.open(state_dir / "drifted.json").record(at="result", ui={"cloud": "sandbox"})
    grant = engine.state.step("grant").outputs
    harness.clients().authorization.role_assignments.delete(grant["scope"], grant["assignment_name"])
    Draft.start("elsewhere", directory=state_dir, cloud="public", at="vault")


async def test_list_shows_at_once_then_marks_the_drifted_setup_and_resume_says_what_changed(sandbox, profile,
                                                                                              state_dir):
    made_and_broken(sandbox, state_dir)
    gate = threading.Event()

    def factory(**_: Any) -> Session:
        session = GatedSession(profile, make_credential(profile))
        session.gate = gate
        return session

    app = make_app(session_factory=factory, sandbox=True, state_dir=state_dir)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: app.services.session is not None, what="the session")
        welcome = app.screen
        await wait_for(pilot, lambda: len(welcome.setups) == 2, what="the setups listed")
        # Azure cannot answer yet (the gate is shut): the list is there all the same, without drift.
        assert all(s.drift is None for s in welcome.setups)
        await wait_for(pilot, lambda: "drifted" in screen_text(app), what="the list painted")  # a frame after
        assert "drift " not in screen_text(app)
        gate.set()
        await wait_for(pilot, lambda: any(s.drifted for s in welcome.setups), what="the drift")
        await pilot.pause()
        by_name = {s.name: s for s in welcome.setups}
        assert by_name["drifted"].drift.summary() == "grant removed"
        assert by_name["elsewhere"].drift is None  # made on Azure: not read through the sandbox
        text = screen_text(app)
        row = next(line for line in text.splitlines() if line.strip().startswith("drifted "))
        assert row.split()[1:3] == ["7/7", "drift"]  # its progress (every step done), marked
        assert "Changed in Azure since the last run: drifted (grant removed)" in text

        table = welcome.query_one("#setups")
        table.move_cursor(row=[s.name for s in welcome.setups].index("drifted"))
        await pilot.press("r")
        await wait_for(pilot, lambda: on(app, "ConfirmDialog"), what="the resume notice")
        await pilot.pause()
        text = screen_text(app)
        assert "drifted changed in Azure since the last run" in text
        assert "grant: grant removed. id-flows holds no role that reads git-token" in text
        await pilot.click("#no")  # Back: stays on the list
        await wait_for(pilot, lambda: on(app, "WelcomeScreen"), what="the list again")
        await pilot.press("r")
        await wait_for(pilot, lambda: on(app, "ConfirmDialog"), what="the resume notice")
        await pilot.click("#yes")
        await wait_for(pilot, lambda: on(app, "ResultScreen"), what="the setup resumed")
        assert app.services.draft.name == "drifted"
