"""A whole setup driven through the screens against the sandbox, to a passing verification."""

from __future__ import annotations

import json

import pytest

from wizard.state_store import StateStore

from .helpers import (
    SECRET_VALUE,
    assert_secret_nowhere,
    reach,
    screen_text,
    start_new,
    through_to_vault,
    type_text,
    vault_to_review,
    wait_for,
)

pytestmark = pytest.mark.timeout(90)


async def test_a_setup_from_nothing_to_a_passing_verification(make, state_dir, sandbox):
    app = make()
    async with app.run_test(size=(80, 24)) as pilot:
        await start_new(pilot, "prefect-aci")
        await through_to_vault(pilot)
        await wait_for(pilot, lambda: "is available" in screen_text(app), what="the vault name check")
        await vault_to_review(pilot)
        review = screen_text(app)
        assert "CREATE" in review and "Managed identity" in review
        await pilot.press("ctrl+n")
        await reach(pilot, "ResultScreen", timeout=60)
        shown = screen_text(app)
        assert "Verification passed" in shown
        identity = app.screen.identity
        assert identity["client_id"] in shown and identity["principal_id"] in shown
        assert SECRET_VALUE not in shown
        await pilot.press("ctrl+n")  # Finish: home, with the setup listed as done
        await reach(pilot, "WelcomeScreen", ready=False)
        await wait_for(pilot, lambda: "7/7" in screen_text(app), what="the finished setup in the list (its steps)")

    state = StateStore(state_dir / "prefect-aci.json").load()
    assert state.step("verify").status == "done" and state.ui["screen"] == "result"
    assert state.spec["resource_group"] == "rg-prefect-demo"
    assert state.ui["answers"]["secret"] == {"name": "app-secret", "source": "typed", "file": ""}
    assert_secret_nowhere(state_dir)
    msi = app.services.session.for_subscription(sandbox.subscription_ids[0]).msi
    assert [i.name for i in msi.user_assigned_identities.list_by_resource_group("rg-prefect-demo")] == [
        "id-prefect-aci"]


async def test_the_secret_is_masked_on_screen_and_never_saved(make, state_dir):
    app = make()
    async with app.run_test(size=(80, 24)) as pilot:
        await start_new(pilot, "masked")
        await through_to_vault(pilot)
        await wait_for(pilot, lambda: app.screen.can_advance, what="the vault check")
        await pilot.press("ctrl+n")
        await reach(pilot, "SecretScreen")
        await type_text(pilot, "#value", SECRET_VALUE)
        assert SECRET_VALUE not in screen_text(app)
        assert "•" * 10 in screen_text(app)
        await pilot.press("ctrl+n")
        await reach(pilot, "PermissionsScreen")
        await pilot.press("escape")  # back: the value is still there (in memory), still masked
        await reach(pilot, "SecretScreen")
        assert app.screen.query_one("#value").value == SECRET_VALUE
        assert SECRET_VALUE not in screen_text(app)
        await pilot.press("ctrl+q")
    assert_secret_nowhere(state_dir)
    saved = json.loads((state_dir / "masked.json").read_text())
    assert saved["ui"]["screen"] == "secret"


async def test_back_keeps_what_was_typed(make, state_dir):
    app = make()
    async with app.run_test(size=(80, 24)) as pilot:
        await start_new(pilot, "back-and-forth")
        await through_to_vault(pilot)
        await pilot.press("escape")
        await reach(pilot, "IdentityScreen")
        await type_text(pilot, "#name", "id-typed-then-back")
        await pilot.press("escape")  # back to the group, with the name kept though not confirmed
        await reach(pilot, "ResourceGroupScreen")
        await pilot.press("ctrl+n")
        await reach(pilot, "IdentityScreen")
        assert app.screen.query_one("#name").value == "id-typed-then-back"
        assert app.services.draft.spec.identity.name == "id-back-and-forth"  # not confirmed: spec unchanged
        await pilot.press("ctrl+n")
        await reach(pilot, "VaultScreen", ready=False)
        assert app.services.draft.spec.identity.name == "id-typed-then-back"
