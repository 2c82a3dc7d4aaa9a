"""Issue 12, items 6 and 8: layout and text as a person sees them, and copy buttons that say only what happened."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from textual.geometry import Region
from textual.widgets import Checkbox, RichLog, Select

from .helpers import (
    SECRET_VALUE,
    new_draft,
    on,
    open_at,
    reach,
    screen_text,
    start_new,
    through_to_vault,
    type_text,
    vault_to_review,
    wait_for,
)

pytestmark = pytest.mark.timeout(120)


def notices(app) -> list[str]:
    """The notices shown (toasts), oldest first."""
    return [n.message for n in app._notifications]


def flat(app) -> str:
    return " ".join(screen_text(app).split())


async def help_of(pilot) -> str:
    await pilot.press("f1")
    await wait_for(pilot, lambda: on(pilot.app, "HelpScreen"), what="the help")
    await pilot.pause()
    text = pilot.app.screen.text
    await pilot.press("escape")
    await wait_for(pilot, lambda: not on(pilot.app, "HelpScreen"), what="the help closed")
    return text


async def test_help_texts_match_the_screen_they_are_on(make):
    app = make()
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.services.session is not None, what="the session")
        welcome = await help_of(pilot)
        assert "Start new" in welcome and "Try the sandbox" not in welcome  # no such button on the sandbox
        await start_new(pilot, "helpful")
        await pilot.press("f1")
        await wait_for(pilot, lambda: on(app, "HelpScreen"), what="the help")
        await pilot.pause()
        shown = flat(app)
        assert "Sign in" in shown and "Signin" not in shown  # the step's title
        assert "Device code" not in shown and "nothing to choose here" in shown  # none offered on the sandbox
        await pilot.press("escape")
        await through_to_vault(pilot)
        await pilot.press("escape")
        await reach(pilot, "IdentityScreen")
        identity = await help_of(pilot)
        assert "(here, what runs the workload)" in identity and "container group" not in identity
        await pilot.press("ctrl+n")
        await reach(pilot, "VaultScreen")
        vault = await help_of(pilot)
        assert "3-24" not in vault  # the naming rules are in the error, where they help
        await type_text(pilot, "#name", "kv--bad")
        await wait_for(pilot, lambda: "Vault names are 3-24 characters" in flat(app), what="the naming rules")


async def test_the_identity_help_names_the_chosen_target(make, state_dir, sandbox):
    path = new_draft(state_dir, "batchy", at="identity", subscription=sandbox.subscription_ids[0],
                     target={"kind": "batch", "account": "batchprefect", "pool": "pool-a"})
    from wizard.draft import Draft
    Draft.open(path).record(ui={"target_chosen": True})
    app = make()
    async with app.run_test(size=(80, 24)) as pilot:
        await open_at(pilot, path, "IdentityScreen")
        assert "(here, the Batch pool)" in await help_of(pilot)


async def test_locations_no_longer_say_loading_once_loaded(make, state_dir, sandbox):
    path = new_draft(state_dir, "located", at="resource_group", subscription=sandbox.subscription_ids[0])
    app = make()
    async with app.run_test(size=(80, 24)) as pilot:
        await open_at(pilot, path, "ResourceGroupScreen")
        await pilot.press("ctrl+g")
        select = app.screen.query_one("#location", Select)
        await wait_for(pilot, lambda: len(select._options) > 1, what="the locations")
        select.value = Select.NULL  # what the person sees when nothing is chosen yet
        select.focus()
        await pilot.press("enter")  # the list opens
        await pilot.pause()
        shown = screen_text(app)
        assert "Loading locations" not in shown and "Choose a location" in shown


async def test_the_resource_group_list_keeps_its_bottom_border(make, state_dir, sandbox):
    path = new_draft(state_dir, "bordered", at="resource_group", subscription=sandbox.subscription_ids[0])
    app = make()
    async with app.run_test(size=(100, 30)) as pilot:
        await open_at(pilot, path, "ResourceGroupScreen")
        lines = screen_text(app).splitlines()
        top = next(i for i, line in enumerate(lines) if "╭" in line)
        assert any("╰" in line and "╯" in line for line in lines[top + 1:]), screen_text(app)
        assert app.screen.query_one("#body").max_scroll_y == 0  # nothing pushed below the screen


async def test_no_key_vault_hides_the_vault_fields(make, state_dir, sandbox):
    path = new_draft(state_dir, "novault", at="vault", subscription=sandbox.subscription_ids[0])
    app = make()
    async with app.run_test(size=(80, 24)) as pilot:
        await open_at(pilot, path, "VaultScreen")
        assert "Access model" in flat(app) and "Or adopt" in flat(app)
        app.screen.query_one("#no-vault", Checkbox).value = True
        await pilot.pause()
        shown = flat(app)
        assert "Access model" not in shown and "Or adopt" not in shown and "Name kv-" not in shown
        assert "No vault: no secret" in shown and app.screen.can_advance
        app.screen.query_one("#no-vault", Checkbox).value = False
        await pilot.pause()
        assert "Access model" in flat(app)


async def test_the_new_setup_dialog_shows_its_own_keys(make):
    app = make()
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.services.session is not None, what="the session")
        await pilot.press("n")
        await wait_for(pilot, lambda: on(app, "AskDialog"), what="the name dialog")
        await pilot.pause()
        footer = screen_text(app).strip().splitlines()[-1]
        assert "Cancel" in footer and "OK" in footer
        assert "Resume" not in footer and "Start new" not in footer  # the welcome's keys do nothing here


async def test_the_review_scrolls_from_the_keyboard_after_the_secret_dialog(make, state_dir, sandbox):
    path = new_draft(state_dir, "scrolly", at="review", subscription=sandbox.subscription_ids[0])
    app = make()
    async with app.run_test(size=(80, 24)) as pilot:
        await open_at(pilot, path, "ReviewScreen", ready=False)
        await wait_for(pilot, lambda: "Enter the secret value" in screen_text(app), what="the secret asked for")
        await pilot.press("enter")  # the focused button
        await wait_for(pilot, lambda: on(app, "AskDialog"), what="the secret dialog")
        app.screen.query_one("#answer").value = SECRET_VALUE
        await pilot.press("enter")
        await reach(pilot, "ReviewScreen")
        body = app.screen.query_one("#body")
        assert app.focused is body and body.max_scroll_y > 0
        await pilot.press("pagedown")
        await wait_for(pilot, lambda: body.scroll_y > 0, what="the plan scrolled")


async def test_parallel_steps_lines_stay_grouped_under_their_step(make, state_dir, sandbox):
    """Two steps running at once, their messages interleaved as the engine's threads send them: the log shows
    each step's lines together, in order, with wrapped lines indented under their text."""
    from screens.messages import EngineProgressed
    from wizard import progress as ev
    path = new_draft(state_dir, "parallel", at="apply", subscription=sandbox.subscription_ids[0])
    app = make()
    async with app.run_test(size=(80, 24)) as pilot:
        await open_at(pilot, path, "ApplyScreen")
        events = [ev.StepStarted(step="vault", title="Key Vault", action="create"),
                  ev.StepStarted(step="identity", title="Managed identity", action="create"),
                  ev.StepMessage(step="identity", text="Creating id-parallel in rg-prefect-demo."),
                  ev.StepMessage(step="vault", text="Creating kv-parallel: vault creation takes a minute or two "
                                                    "while Azure provisions it; everything is saved meanwhile."),
                  ev.StepFinished(step="identity", action="create"),
                  ev.StepMessage(step="vault", text="Vault created."),
                  ev.StepFinished(step="vault", action="create")]
        for event in events:
            app.screen.post_message(EngineProgressed(event))
        log = app.screen.query_one("#log", RichLog)
        await wait_for(pilot, lambda: any("done: Managed identity" in s.text for s in log.lines), what="the log")
        lines = [strip.text.rstrip() for strip in log.lines]
        expected = ["> Key Vault: create", "Creating kv-parallel", "provisions it", "Vault created.",
                    "done: Key Vault (created)", "> Managed identity: create", "Creating id-parallel",
                    "done: Managed identity (created)"]
        assert len(lines) == len(expected) and all(line.strip().startswith(start)
                                                   for line, start in zip(lines, expected, strict=True)), lines
        assert lines[2].startswith("  ") and not lines[2].startswith("   ")  # a wrapped line, under its text


async def test_a_parallel_steps_failure_is_written_while_another_step_holds_the_log(make, state_dir, sandbox):
    """The vault still being created (it holds the log), the identity fails: its reason and fix are shown at once,
    as one block, not after the vault's wait."""
    from screens.messages import EngineProgressed
    from wizard import progress as ev
    path = new_draft(state_dir, "parallel-fail", at="apply", subscription=sandbox.subscription_ids[0])
    app = make()
    async with app.run_test(size=(80, 24)) as pilot:
        await open_at(pilot, path, "ApplyScreen")
        events = [ev.StepStarted(step="vault", title="Key Vault", action="create"),
                  ev.StepStarted(step="identity", title="Managed identity", action="create"),
                  ev.StepMessage(step="vault", text="Creating kv-parallel."),
                  ev.StepMessage(step="identity", text="Creating id-parallel."),
                  ev.StepFailed(step="identity", code="AuthorizationFailed", explanation="you may not create it.",
                                fix="ask for Contributor on the group.")]
        for event in events:
            app.screen.post_message(EngineProgressed(event))
        log = app.screen.query_one("#log", RichLog)
        await wait_for(pilot, lambda: any("fix:" in s.text for s in log.lines), what="the failure, while the vault runs")
        lines = [strip.text.strip() for strip in log.lines]
        expected = ["> Key Vault: create", "Creating kv-parallel.", "> Managed identity: create",
                    "Creating id-parallel.", "FAILED AuthorizationFailed", "fix: ask for Contributor"]
        assert len(lines) == len(expected) and all(line.startswith(start)
                                                   for line, start in zip(lines, expected, strict=True)), lines


async def test_the_result_says_what_was_copied_and_saves_to_a_file(make, state_dir, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    app = make()
    async with app.run_test(size=(80, 24)) as pilot:
        await start_new(pilot, "polished")
        await through_to_vault(pilot)
        await wait_for(pilot, lambda: app.screen.can_advance, what="the vault check")
        await vault_to_review(pilot)
        await pilot.press("ctrl+n")
        await reach(pilot, "ResultScreen", timeout=90)
        identity = app.screen.identity
        shown = screen_text(app)
        # The resource id is one line, shortened in the middle, never cut mid-word; the button copies all of it.
        id_line = next(line for line in shown.splitlines() if line.startswith("Resource id"))
        assert "…" in id_line and id_line.rstrip().endswith(identity["id"][-10:])
        assert not re.search(r"^\s*\S*(urceGroups|providers)/", shown, re.M)
        await pilot.press("c")
        await wait_for(pilot, lambda: notices(app), what="the copy notice")
        assert notices(app) == ["Sent the resource id to the terminal's clipboard (OSC 52); if your terminal does "
                                "not support it, use Save to file (F)."]
        assert app.clipboard == identity["id"]
        assert "f Save to file" in screen_text(app).strip().splitlines()[-1]  # the footer offers it

        await pilot.press("f")
        await wait_for(pilot, lambda: on(app, "AskDialog"), what="the save dialog")
        assert app.screen.query_one("#answer").value == "polished-next-steps.txt"
        await pilot.press("enter")
        saved = Path(tmp_path / "polished-next-steps.txt")
        await wait_for(pilot, lambda: saved.exists() and f"Saved the next steps to {saved}." in notices(app),
                       what="the file")
        assert identity["client_id"] in saved.read_text() and SECRET_VALUE not in saved.read_text()

        await pilot.press("f")  # again: a free name is proposed, and an existing file is refused, not replaced
        await wait_for(pilot, lambda: on(app, "AskDialog"), what="the save dialog again")
        assert app.screen.query_one("#answer").value == "polished-next-steps-2.txt"
        await type_text(pilot, "#answer", "polished-next-steps.txt")
        await wait_for(pilot, lambda: "exists already" in flat(app), what="the existing file refused")
        assert app.screen.query_one("#ok").disabled
        await pilot.press("enter")
        assert on(app, "AskDialog")
        await pilot.press("escape")
    assert SECRET_VALUE not in saved.read_text() and sorted(p.name for p in tmp_path.glob("*.txt")) == [saved.name]


async def test_wrapped_lines_are_indented_at_60x20(make, state_dir, sandbox):
    """The result's links at 60 columns: a link's wrapped lines start under its text, not at the margin."""
    from tests.snapshots.test_screens import REPORT
    from wizard.draft import Draft
    path = new_draft(state_dir, "narrow", at="result", subscription=sandbox.subscription_ids[0])
    Draft.open(path).record(at="result")
    app = make()
    async with app.run_test(size=(60, 20)) as pilot:
        await open_at(pilot, path, "ResultScreen")
        app.screen.show(REPORT)
        await pilot.pause()
        links = app.screen.query_one("#links")
        lines = [strip.text for strip in links.render_lines(Region(0, 0, links.size.width, links.size.height))]
        start = next(i for i, line in enumerate(lines) if line.startswith("✓ Identity:"))
        assert lines[start + 1].startswith("  ") and lines[start + 1].strip(), lines
        fix = next(i for i, line in enumerate(lines) if line.startswith("    Fix:"))
        assert lines[fix + 1].startswith(" " * 9) and lines[fix + 1].strip(), lines
