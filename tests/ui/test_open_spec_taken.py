"""Opening a spec file whose setup name is taken by another setup asks, rather than failing: the dialog says why
and offers a free name (NAME-2); the spec opens under the name typed, and the other setup's state file is untouched,
byte for byte. Cancel writes nothing. (Headless `apply` refuses the same case with the fix: tests/e2e.)"""

from __future__ import annotations

from pathlib import Path

import pytest

from .helpers import new_draft, on, reach, screen_text, type_text, wait_for

pytestmark = pytest.mark.timeout(60)
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "prefect-aci.toml"  # its setup is named prefect-aci


def files(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir()) if p.is_file()}


@pytest.fixture
def taken(state_dir, sandbox) -> dict[str, bytes]:
    """Another setup already named prefect-aci (a different group and target), and every file there."""
    new_draft(state_dir, "prefect-aci", at="identity", subscription=sandbox.subscription_ids[0],
              resource_group="rg-someone-else")
    return files(state_dir)


async def open_example(pilot) -> None:
    app = pilot.app
    await wait_for(pilot, lambda: app.services.session is not None, what="the session")
    await pilot.press("o")
    await wait_for(pilot, lambda: on(app, "AskDialog"), what="the path dialog")
    await type_text(pilot, "#answer", str(EXAMPLE))
    await pilot.press("enter")
    await wait_for(pilot, lambda: on(app, "AskDialog") and "another name" in screen_text(app),
                   what="the name dialog")


async def test_a_taken_name_asks_and_opens_under_the_name_typed(make, state_dir, taken):
    app = make()
    async with app.run_test(size=(100, 30)) as pilot:
        await open_example(pilot)
        assert "A setup named prefect-aci already exists." in screen_text(app)  # the reason, on screen
        lead = str(app.screen.query_one(".lead").render())  # the whole question (on screen it wraps)
        assert "Opening the spec never changes an existing setup (to continue one, cancel and resume it" in lead
        answer = app.screen.query_one("#answer")
        assert answer.value == "prefect-aci-2"  # a free name, offered
        # The taken name is refused as typed; OK stays off.
        await type_text(pilot, "#answer", "prefect-aci")
        await wait_for(pilot, lambda: app.screen.query_one("#ok").disabled, what="OK disabled")
        assert "A setup named prefect-aci already exists." in str(app.screen.query_one("#problem").render())
        await type_text(pilot, "#answer", "flows-copy")
        await wait_for(pilot, lambda: not app.screen.query_one("#ok").disabled, what="OK enabled")
        await pilot.press("enter")
        await reach(pilot, "ReviewScreen", ready=False)
        draft = app.services.draft
        assert draft.name == "flows-copy"
        assert (draft.spec.name, draft.spec.resource_group) == ("flows-copy", "rg-prefect-flows")  # the example's
    after = files(state_dir)
    assert after["prefect-aci.json"] == taken["prefect-aci.json"]  # the other setup, byte for byte
    assert "flows-copy.json" in after


async def test_cancel_writes_nothing(make, state_dir, taken):
    app = make()
    async with app.run_test(size=(100, 30)) as pilot:
        await open_example(pilot)
        await pilot.press("escape")
        await wait_for(pilot, lambda: on(app, "WelcomeScreen"), what="back on the welcome screen")
        await pilot.pause()
        assert app.services.draft is None
    assert files(state_dir) == taken
