"""The key bar at the bottom of every screen (screens.key_bar): the screen's keys as Textual's Footer shows them,
clickable, with tooltips, unavailable keys dimmed, and the bar kept in step with the screen's bindings."""

from __future__ import annotations

import pytest

from screens.key_bar import KeyBar

from .helpers import new_draft, on, open_at, screen_text, type_text, wait_for

pytestmark = pytest.mark.timeout(60)


def span_of(app, key: str):
    bar = app.screen.query_one(KeyBar)
    return next(span for span in bar.spans if span.key == key)


def key_line(app) -> str:
    return screen_text(app).rstrip().splitlines()[-1]


async def test_clicking_a_key_in_the_bar_presses_it(make):
    app = make()
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: app.services.session is not None, what="the session")
        await pilot.pause()
        assert "n Start new" in key_line(app)
        await pilot.click(KeyBar, offset=(span_of(app, "n").start + 1, 0))
        await wait_for(pilot, lambda: on(app, "AskDialog"), what="the new setup's name dialog")
        await pilot.pause()
        assert "esc Cancel" in key_line(app) and "Start new" not in key_line(app)  # the dialog's own keys


async def test_hovering_a_key_shows_its_tooltip(make):
    app = make()
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: app.services.session is not None, what="the session")
        await pilot.pause()
        bar = app.screen.query_one(KeyBar)
        await pilot.hover(KeyBar, offset=(span_of(app, "f1").start + 1, 0))
        assert bar.tooltip == "What this screen is for, and the keys."  # the binding's own tooltip
        await pilot.hover(KeyBar, offset=(span_of(app, "o").start + 1, 0))
        assert bar.tooltip == "Open spec"  # no tooltip of its own: its description, as the Footer does


async def test_an_unavailable_key_is_dimmed_and_a_click_on_it_says_why(make, state_dir, sandbox):
    path = new_draft(state_dir, "keys", at="vault", subscription=sandbox.subscription_ids[0])
    app = make()
    async with app.run_test(size=(100, 30)) as pilot:
        await open_at(pilot, path, "VaultScreen")
        assert span_of(app, "ctrl+n").enabled
        await type_text(pilot, "#name", "kv--bad")
        await wait_for(pilot, lambda: not span_of(app, "ctrl+n").enabled, what="Next shown as unavailable")
        await pilot.click(KeyBar, offset=(span_of(app, "ctrl+n").start + 1, 0))
        await wait_for(pilot, lambda: "Not yet:" in screen_text(app), what="the reason Next is not offered")
        assert "two hyphens in a row" in str(app.screen.query_one("#nav-status").render())
        assert on(app, "VaultScreen")  # stayed


async def test_keys_that_do_not_fit_give_way_whole_palette_first_and_help_stays(make):
    app = make()
    async with app.run_test(size=(50, 24)) as pilot:
        await wait_for(pilot, lambda: app.services.session is not None, what="the session")
        await pilot.pause()
        line = key_line(app)
        assert "palette" not in line  # first to go: Ctrl+P works anyway, and F1 lists it
        assert "r Resume" in line and "f1 Help" in line  # F1 lists every key, the ones left out too
        assert "Tear" not in line  # left out whole, not cut mid-word
        assert max(span.end for span in app.screen.query_one(KeyBar).spans) <= 50
    async with make().run_test(size=(100, 24)) as pilot:
        await wait_for(pilot, lambda: pilot.app.services.session is not None, what="the session")
        await pilot.pause()
        line = key_line(pilot.app)
        assert "t Tear down  f1 Help" in line and line.rstrip().endswith("▏^p palette")  # all fit, in order


async def test_help_lists_the_keys_the_bar_had_no_room_for(make):
    app = make()
    async with app.run_test(size=(50, 30)) as pilot:
        await wait_for(pilot, lambda: app.services.session is not None, what="the session")
        await pilot.pause()
        assert "Tear" not in key_line(app)
        await pilot.press("f1")
        await wait_for(pilot, lambda: on(app, "HelpScreen"), what="the help")
        help_text = app.screen.text
        assert "### This screen's keys" in help_text
        assert "| t | Tear down |" in help_text and "| r | Resume |" in help_text
        assert "| f1 |" not in help_text.split("### Keys")[0]  # the keys that work everywhere are listed once
