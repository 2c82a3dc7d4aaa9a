"""Quit anywhere, start again, land back where you were: at the vault screen, and in the middle of apply."""

from __future__ import annotations

import threading

import pytest

from wizard.state_store import StateStore

from .helpers import (
    SECRET_VALUE,
    apply_until_waiting,
    assert_secret_nowhere,
    on,
    reach,
    screen_text,
    start_new,
    through_to_vault,
    type_text,
    vault_to_review,
    wait_for,
)

pytestmark = pytest.mark.timeout(120)


async def resume_first_setup(pilot) -> None:
    app = pilot.app
    await wait_for(pilot, lambda: app.services.session is not None, what="the session")
    await wait_for(pilot, lambda: app.screen.query("#setups") and app.screen.query_one("#setups").row_count, what="the list of setups")
    await pilot.press("r")


async def test_quitting_at_the_vault_screen_resumes_there_with_everything_kept(make, state_dir):
    first = make()
    async with first.run_test(size=(80, 24)) as pilot:
        await start_new(pilot, "resume-vault")
        await through_to_vault(pilot)
        await type_text(pilot, "#name", "kv-typed-before-quit")
        await wait_for(pilot, lambda: "is available" in screen_text(first), what="the name check")
        await pilot.press("ctrl+q")

    second = make()
    async with second.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: "Key Vault" in screen_text(second), what="the setup listed at its screen")
        await resume_first_setup(pilot)
        await reach(pilot, "VaultScreen")
        assert second.screen.query_one("#name").value == "kv-typed-before-quit"
        spec = second.services.draft.spec
        assert (spec.resource_group, spec.identity.name) == ("rg-prefect-demo", "id-resume-vault")
        await pilot.press("escape")  # and the screens before it still hold their choices
        await reach(pilot, "IdentityScreen")
        assert second.screen.query_one("#name").value == "id-resume-vault"
        await pilot.press("ctrl+n")
        await reach(pilot, "VaultScreen")
        await vault_to_review(pilot)
        await pilot.press("ctrl+n")
        await reach(pilot, "ResultScreen", timeout=150)
        assert "Verification passed" in screen_text(second)
    assert StateStore(state_dir / "resume-vault.json").load().spec["vault"]["name"] == "kv-typed-before-quit"


def until_unlocked(store: StateStore, limit_s: float = 60.0) -> bool:
    """Wait until no run holds the setup's lock (True), or give up after `limit_s` (False)."""
    import time

    from wizard.state import StateLocked
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        try:
            with store.lock():
                return True
        except StateLocked:
            threading.Event().wait(0.05)
    return False


async def test_quitting_during_apply_resumes_the_apply(make, state_dir, sandbox):
    # The vault's creation is held in progress: quit while it is in flight, before the secret is stored.
    hold = sandbox.realism.hold("lro:keyvault_create")
    first = make()
    try:
        async with first.run_test(size=(80, 24)) as pilot:
            await apply_until_waiting(pilot, "resume-apply", until=lambda: hold.reached.is_set() and
                                      "long-running" in screen_text(first))
            await pilot.press("ctrl+q")
        # Quitting stops the apply's thread at its next check; a real quit ends the process (and its lock) at
        # once, this test's process goes on: wait until the stopped run has let go of the setup.
        store = StateStore(state_dir / "resume-apply.json")
        assert until_unlocked(store), "the stopped apply never released the setup"
        stopped = store.load()
        assert stopped.ui["screen"] == "apply"
        assert stopped.step("vault").status in ("waiting", "running") and stopped.step("vault").lro
        assert stopped.step("secret").status == "pending"
    finally:
        hold.release()
    second = make()
    async with second.run_test(size=(80, 24)) as pilot:
        await resume_first_setup(pilot)
        await reach(pilot, "ApplyScreen")
        assert "stopped during apply" in screen_text(second)
        await pilot.press("ctrl+n")  # Continue: the secret was never stored, so its value is asked again
        await wait_for(pilot, lambda: on(second, "AskDialog"), what="the secret prompt")
        await type_text(pilot, "#answer", SECRET_VALUE)
        assert SECRET_VALUE not in screen_text(second)
        await pilot.press("enter")
        await reach(pilot, "ResultScreen", timeout=150)
        assert "Verification passed" in screen_text(second)
    state = StateStore(state_dir / "resume-apply.json").load()
    assert all(r.status == "done" for r in state.steps.values()), state.steps
    assert_secret_nowhere(state_dir)


async def test_stop_during_a_wait_then_continue_and_verify_again(make, state_dir, sandbox):
    # A brand-new identity unknown to role assignments (Azure's rarer case, even with principalType) keeps the
    # grant waiting with a countdown until the window is released.
    sandbox.realism.principal_type_skips_window = False
    hold = sandbox.realism.hold("principal_not_found")
    app = make()
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            await apply_until_waiting(pilot, "stop-continue")
            await pilot.click("#stop")
            await wait_for(pilot, lambda: "Stopped. Everything done so far is saved" in screen_text(app))
            assert StateStore(state_dir / "stop-continue.json").load().step("grant").status == "waiting"
            hold.release()
            await pilot.press("ctrl+n")  # Continue: the value is still in memory, nothing is asked
            await reach(pilot, "ResultScreen", timeout=150)
            await pilot.press("v")
            await wait_for(pilot, lambda: "Verifying" in screen_text(app) or "passed" in screen_text(app))
            await app.workers.wait_for_complete()
            await wait_for(pilot, lambda: "Verification passed" in screen_text(app), what="the second verification")
    finally:
        hold.release()
