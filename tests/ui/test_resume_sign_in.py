"""Resuming a setup before signing in: sign-in comes first, then the screen the setup was left on. Where to go
is a typed result the flow hands the sign-in screen (screens.flow.Resuming), not a flag left on shared services,
so going back from that sign-in and starting another setup does not land on the old setup's screen."""

from __future__ import annotations

import threading

import pytest

from screens.app import make_app
from wizard.draft import Draft

from .helpers import reach, screen_text, wait_for

pytestmark = pytest.mark.timeout(120)


def saved_at(state_dir, name: str, screen: str, cloud: str, subscription: str) -> None:
    draft = Draft.start(name, directory=state_dir, cloud=cloud, at=screen)
    draft.record(spec={"subscription": subscription, "resource_group": "rg-prefect-demo"})


async def resume_listed(pilot) -> None:
    app = pilot.app
    await wait_for(pilot, lambda: app.screen.query("#setups") and app.screen.query_one("#setups").row_count,
                   what="the list of setups")
    await pilot.press("r")
    await reach(pilot, "SignInScreen", ready=False)


async def sign_in_and_go_on(pilot) -> None:
    app = pilot.app
    await wait_for(pilot, lambda: app.screen.query("#method RadioButton"), what="the sign-in methods")
    await pilot.click("#sign-in")
    await reach(pilot, "SignInScreen")  # signed in: Next is offered
    await pilot.press("ctrl+n")


async def test_a_setup_resumed_before_signing_in_lands_on_its_screen_after_sign_in(session_factory, state_dir,
                                                                                    sub_id):
    saved_at(state_dir, "resume-signin", "identity", "public", sub_id)
    app = make_app(session_factory=session_factory, state_dir=state_dir)  # Azure: sign-in asks
    async with app.run_test(size=(80, 24)) as pilot:
        await resume_listed(pilot)
        assert app.services.session is None and app.screen.query("#cloud")  # the choices: nothing signed in yet
        await sign_in_and_go_on(pilot)
        await reach(pilot, "IdentityScreen", ready=False)
        assert "Identity" in screen_text(app) and "resume-signin" in screen_text(app)
    assert Draft.open(state_dir / "resume-signin.json").screen == "identity"


async def test_going_back_from_a_resumed_sign_in_forgets_where_it_led(session_factory, state_dir, sub_id):
    saved_at(state_dir, "left-at-vault", "vault", "public", sub_id)
    app = make_app(session_factory=session_factory, state_dir=state_dir)
    async with app.run_test(size=(80, 24)) as pilot:
        await resume_listed(pilot)
        await pilot.press("escape")
        await reach(pilot, "WelcomeScreen", ready=False)
        await pilot.press("n")
        await reach(pilot, "AskDialog", ready=False)
        app.screen.query_one("#answer").value = "fresh-one"
        await pilot.press("enter")
        await reach(pilot, "SignInScreen", ready=False)
        await sign_in_and_go_on(pilot)
        await reach(pilot, "SubscriptionScreen", ready=False)  # the new setup's next screen, not the vault
    assert Draft.open(state_dir / "fresh-one.json").screen == "subscription"


async def test_on_the_sandbox_a_resumed_setup_goes_on_by_itself_once_the_sandbox_is_up(session_factory, state_dir,
                                                                                       sub_id):
    saved_at(state_dir, "resume-starting", "identity", "sandbox", sub_id)
    started = threading.Event()

    def starting_slowly(**kwargs):
        assert started.wait(60), "the test never let the sandbox start"
        return session_factory(**kwargs)

    app = make_app(session_factory=starting_slowly, sandbox=True, state_dir=state_dir)
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            await resume_listed(pilot)
            await wait_for(pilot, lambda: "Starting the sandbox…" in screen_text(app), what="the sandbox starting")
            assert "Sign in" in screen_text(app) and app.services.session is None
            started.set()
            await reach(pilot, "IdentityScreen", ready=False)  # nothing to ask on the sandbox: on by itself
    finally:
        started.set()
    assert Draft.open(state_dir / "resume-starting.json").screen == "identity"
