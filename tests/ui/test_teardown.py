"""Tear down from the setups list: the plan (what goes, what stays) is shown, and nothing is removed until the
setup's name is typed; then what the setup made is gone and what it adopted stays."""

from __future__ import annotations

import pytest
from azure.core.exceptions import ResourceNotFoundError

from tests.e2e.engine.conftest import Harness, build_spec
from wizard.state_store import StateStore

from .helpers import on, screen_text, type_text, wait_for


async def test_tear_down_from_the_setups_list_needs_the_typed_name(make, state_dir, sandbox, az):
    spec = build_spec(name="ui-teardown", resource_group="rg-ui-teardown", target={"kind": "none"})
    Harness(sandbox, state_dir).engine(spec).apply()
    assert az.msi.user_assigned_identities.get("rg-ui-teardown", "id-flows").name == "id-flows"
    app = make()
    async with app.run_test(size=(100, 40)) as pilot:
        await wait_for(pilot, lambda: app.services.session is not None and app.screen.setups, what="the setups")
        await pilot.press("t")
        await wait_for(pilot, lambda: on(app, "TeardownScreen"), what="the teardown dialog")
        screen = app.screen
        await wait_for(pilot, lambda: screen.prepared is not None, what="the plan")
        await pilot.pause()
        text = screen_text(app)
        assert "DELETE" in text and "identity id-flows" in text and "vault kv-flows-test" in text
        go = screen.query_one("#teardown-go")
        assert go.disabled
        await type_text(pilot, "#confirm-name", "ui-teardow")  # not the name: nothing may happen
        assert go.disabled
        await pilot.press("enter")
        assert not screen.done and az.msi.user_assigned_identities.get("rg-ui-teardown", "id-flows")
        await type_text(pilot, "#confirm-name", "ui-teardown")
        await wait_for(pilot, lambda: not go.disabled, what="Tear down offered")
        await pilot.click("#teardown-go")
        await wait_for(pilot, lambda: screen.done, what="the teardown", timeout=60)
        await pilot.pause()
        assert "Torn down" in screen_text(app)
        await pilot.click("#teardown-cancel")
        await wait_for(pilot, lambda: on(app, "WelcomeScreen"), what="back on the setups list")
    with pytest.raises(ResourceNotFoundError):
        az.msi.user_assigned_identities.get("rg-ui-teardown", "id-flows")
    with pytest.raises(ResourceNotFoundError):
        az.resources.resource_groups.get("rg-ui-teardown")
    state = StateStore(state_dir / "ui-teardown.json").load()
    assert state.teardown["status"] == "done" and state.provenance == {}
