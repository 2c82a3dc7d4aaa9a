"""One error route: with every Azure call refused, each screen that reads Azure shows the failure in one format
(what could not be done, the explanation, Azure's code and message, the fix) and offers Ctrl+R; none stays
"Loading…". With Azure answering again, Ctrl+R reads it and the walk goes on."""

from __future__ import annotations

import asyncio

import pytest

from .helpers import choose_group, on, reach, screen_text, start_new, type_text, wait_for

pytestmark = pytest.mark.timeout(240)


def refuse_everything(sandbox) -> None:
    """Every call answers 403 AuthorizationFailed (a role missing everywhere): not retried, so shown at once."""
    sandbox.realism.add_fault("*", "403", count=10**9)


def answer_again(sandbox) -> None:
    sandbox.realism.faults.clear()


async def shows_the_failure(pilot, doing: str) -> str:
    """The screen says what could not be done, in the one format, and offers Ctrl+R; nothing says Loading."""
    app = pilot.app
    text = await wait_for(pilot, lambda: (t := screen_text(app)) and f"Could not {doing}" in t and t,
                          what=f"'Could not {doing}'")
    assert "AuthorizationFailed" in text and "Fix:" in text, text
    assert "Ctrl+R tries again" in text, text
    assert "Loading" not in text, text
    retry_key = app.screen.active_bindings.get("ctrl+r")
    assert retry_key is not None and retry_key.enabled, "Ctrl+R is offered"
    # The footer repaints after the binding is enabled: wait for it (a busy machine paints later).
    await wait_for(pilot, lambda: "^r Retry" in screen_text(app), what="Retry in the footer")
    return text


async def retry(pilot, sandbox, loaded) -> None:
    answer_again(sandbox)
    await pilot.press("ctrl+r")
    await wait_for(pilot, loaded, what="the list, read again")
    assert "Could not" not in screen_text(pilot.app)


async def test_every_screen_that_reads_azure_shows_the_failure_and_a_retry(make, sandbox):
    app = make()
    async with app.run_test(size=(100, 40)) as pilot:
        await start_new(pilot, "failing")

        refuse_everything(sandbox)
        await pilot.press("ctrl+n")
        await reach(pilot, "SubscriptionScreen", ready=False)
        await shows_the_failure(pilot, "list the subscriptions")
        await retry(pilot, sandbox, lambda: app.screen.can_advance)

        refuse_everything(sandbox)
        await pilot.press("enter")
        await reach(pilot, "ResourceGroupScreen", ready=False)
        text = await shows_the_failure(pilot, "list the resource groups")
        assert "Not loaded (AuthorizationFailed): see above" in text  # the list itself (locations fall back to
        # the common regions by design: a picker beats none)
        await retry(pilot, sandbox, lambda: app.screen.query_one("FilterList").highlighted is not None)
        refuse_everything(sandbox)  # before the key that moves on: the next screen reads Azure as it opens
        await choose_group(pilot)  # (filtering the list already read asks Azure nothing)
        await reach(pilot, "IdentityScreen", ready=False)
        await shows_the_failure(pilot, "list the managed identities of the subscription")
        await retry(pilot, sandbox, lambda: "Choose one to adopt" in screen_text(app))
        refuse_everything(sandbox)
        await pilot.press("ctrl+n")
        await reach(pilot, "VaultScreen", ready=False)
        await shows_the_failure(pilot, "list the Key Vaults of the subscription")
        await retry(pilot, sandbox, lambda: app.screen.can_advance)
        await pilot.press("ctrl+n")
        await reach(pilot, "SecretScreen")
        await type_text(pilot, "#value", "s3cr3t-for-the-failure-walk")
        await pilot.press("ctrl+n")
        await reach(pilot, "PermissionsScreen")
        refuse_everything(sandbox)
        await pilot.press("ctrl+n")
        await reach(pilot, "TargetScreen", ready=False)
        await shows_the_failure(pilot, "list the container groups of the subscription")
        await retry(pilot, sandbox, lambda: app.screen.can_advance)

        refuse_everything(sandbox)
        await pilot.press("ctrl+n")
        await reach(pilot, "ReviewScreen", ready=False)
        # The plan reads Azure itself: what it could not read is a problem of the plan, with the same parts.
        text = await wait_for(pilot, lambda: (t := screen_text(app)) and "The plan found problems" in t and t,
                              what="the plan's problems")
        assert "AuthorizationFailed" in text and "Fix:" in text and "Ctrl+R reads" in text, text
        assert app.screen.active_bindings["ctrl+r"].enabled
        await retry(pilot, sandbox, lambda: app.screen.can_advance)
        assert on(app, "ReviewScreen")


@pytest.mark.parametrize(("at", "screen", "doing", "spec"), [
    ("target", "TargetScreen", "list the Batch accounts and pools of the subscription", {}),
    ("details", "AksScreen", "list the AKS clusters of the subscription", {"target": {"kind": "aks"}}),
    ("grants", "GrantsScreen", "list the storage accounts, registries and vaults", {}),
], ids=["batch", "aks", "grants"])
async def test_the_other_lists_show_the_failure_and_a_retry_too(make, sandbox, state_dir, at, screen, doing, spec):
    """The lists off the ACI path (Batch accounts, AKS clusters, the resources to grant on) go the same route."""
    from .helpers import new_draft, open_at
    path = new_draft(state_dir, f"failing-{at}", at=at, subscription=sandbox.subscription_ids[0], **spec)
    app = make()
    async with app.run_test(size=(100, 40)) as pilot:
        await wait_for(pilot, lambda: app.services.session is not None, what="the session")
        session = app.services.session  # signed in first (a token held), as on the walk: then Azure refuses
        await asyncio.to_thread(lambda: list(session.clients.subscriptions.subscriptions.list()))
        refuse_everything(sandbox)
        await open_at(pilot, path, screen, ready=False)
        await shows_the_failure(pilot, doing)
        answer_again(sandbox)
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: not any(word in screen_text(app) for word in ("Could not", "Loading",
                                                                                    "Not loaded")),
                       what="the lists, read again")  # "Not loaded (…)": a list Ctrl+R did not read again
        assert not app.screen.query_one("#failure").display


async def test_a_choice_that_cannot_be_saved_is_said_and_the_screen_stays(make, sandbox, state_dir):
    """Saving a choice is an action on the same route: with another wizard holding the setup, Next says what could
    not be done and why, and stays; once the setup is free, Next moves on. Quitting still quits."""
    from wizard.state_store import StateStore

    from .helpers import new_draft, open_at
    path = new_draft(state_dir, "held", at="identity", subscription=sandbox.subscription_ids[0])
    other_wizard = StateStore(path)
    app = make()
    async with app.run_test(size=(100, 40)) as pilot:
        await open_at(pilot, path, "IdentityScreen")
        with other_wizard.lock():
            await pilot.press("ctrl+n")
            text = await wait_for(pilot, lambda: (t := screen_text(app)) and "Could not save your choice" in t and t,
                                  what="the failure")
            assert "StateLocked" in text and on(app, "IdentityScreen"), text
        await pilot.press("ctrl+n")
        await reach(pilot, "VaultScreen", ready=False)
        with other_wizard.lock():
            await pilot.press("ctrl+q")  # the typed answers cannot be saved: it quits all the same
            await wait_for(pilot, lambda: app.return_code is not None, what="the app to quit")
    assert app.return_code == 0
