"""The first screen is the bottom of the screen stack from the start (screens.app.get_default_screen): no blank
screen is laid out and painted before it, and leaving it and coming back works as for any other screen."""

from __future__ import annotations

import pytest

from .helpers import on, reach, start_new, wait_for

pytestmark = pytest.mark.timeout(60)


async def test_the_welcome_screen_is_the_only_screen_at_the_start(make):
    app = make()
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: on(app, "WelcomeScreen"), what="the welcome screen")
        assert [type(screen).__name__ for screen in app.screen_stack] == ["WelcomeScreen"]
        assert app.screen.focused is not None and app.screen.focused.id == "new"  # Start new, from the first frame


async def test_leaving_the_first_screen_and_coming_back(make):
    app = make()
    async with app.run_test(size=(80, 24)) as pilot:
        await start_new(pilot, "first-screen")  # switches away from the bottom screen
        assert [type(screen).__name__ for screen in app.screen_stack] == ["SignInScreen"]
        await pilot.press("escape")
        await reach(pilot, "WelcomeScreen", ready=False)
        await wait_for(pilot, lambda: app.screen.query_one("#setups").row_count == 1, what="the new setup listed")
        assert [type(screen).__name__ for screen in app.screen_stack] == ["WelcomeScreen"]
