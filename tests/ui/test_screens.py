"""What each screen does with what is typed: names checked as typed, taken and soft-deleted vault names,
adoption, new groups, existing targets, the spec file, help and the command palette."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import Checkbox, RadioButton, Select

from .helpers import SECRET_VALUE, new_draft, on, open_at, reach, screen_text, type_text, wait_for

pytestmark = pytest.mark.timeout(60)
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "prefect-aci.toml"


@pytest.fixture
def draft_at(state_dir, sandbox):
    def write(screen: str, **spec) -> Path:
        return new_draft(state_dir, "screens", at=screen, subscription=sandbox.subscription_ids[0], **spec)
    return write


async def test_vault_names_are_checked_as_typed(make, draft_at):
    app = make()
    async with app.run_test(size=(80, 24)) as pilot:
        await open_at(pilot, draft_at("vault"), "VaultScreen")
        await type_text(pilot, "#name", "kv--bad")
        assert "two hyphens in a row" in screen_text(app) and not app.screen.can_advance
        await type_text(pilot, "#name", "kv-contoso")  # taken by someone else: free names suggested
        await wait_for(pilot, lambda: app.screen.query(".suggestion"), what="suggestions")
        assert "used by someone else" in screen_text(app) and not app.screen.can_advance
        await pilot.pause()  # laid out before it is clicked
        await pilot.click(".suggestion")
        await wait_for(pilot, lambda: "is available" in screen_text(app), what="the suggestion checked")
        assert app.screen.query_one("#name").value.startswith("kv-contoso-")


async def test_a_vault_name_over_24_characters_is_refused_with_the_rule_not_cut(make, draft_at):
    app = make()
    async with app.run_test(size=(80, 24)) as pilot:
        await open_at(pilot, draft_at("vault"), "VaultScreen")
        long_name = "kv-prefect-flows-production"  # 27 characters
        await type_text(pilot, "#name", long_name)
        await wait_for(pilot, lambda: "3-24 characters" in screen_text(app), what="the length rule")
        assert app.screen.query_one("#name").value == long_name  # what was typed, all of it
        assert f"'{long_name}' is 27 characters long" in " ".join(screen_text(app).split())
        assert not app.screen.can_advance


async def test_next_on_an_incomplete_screen_says_why_in_place(make, draft_at):
    app = make()
    async with app.run_test(size=(80, 24)) as pilot:
        await open_at(pilot, draft_at("vault"), "VaultScreen")
        await type_text(pilot, "#name", "kv--bad")
        await wait_for(pilot, lambda: not app.screen.can_advance, what="the bad name refused")
        assert app.screen.check_action("next", ()) is None  # the footer shows Next as unavailable
        await pilot.press("ctrl+n")
        await wait_for(pilot, lambda: "Not yet:" in screen_text(app), what="the reason beside Next")
        assert "two hyphens in a row" in str(app.screen.query_one("#nav-status").render())
        assert type(app.screen).__name__ == "VaultScreen"  # stayed
        await type_text(pilot, "#name", "kv-fine-name")
        await wait_for(pilot, lambda: app.screen.can_advance, what="the good name")
        assert "Not yet:" not in screen_text(app)  # the reason goes once Next is offered


async def test_a_soft_deleted_vault_name_offers_recover_or_a_confirmed_purge(make, draft_at):
    app = make()
    async with app.run_test(size=(80, 24)) as pilot:
        await open_at(pilot, draft_at("vault", vault={"name": "kv-prefect-old"}), "VaultScreen")
        assert "deleted on" in screen_text(app) and "Recover" in screen_text(app)
        list(app.screen.query_one("#deleted").query(RadioButton))[1].value = True  # purge
        await wait_for(pilot, lambda: not app.screen.can_advance, what="purge to need a confirmation")
        app.screen.query_one("#confirm-purge", Checkbox).value = True
        await wait_for(pilot, lambda: app.screen.can_advance, what="the confirmed purge")
        await pilot.press("ctrl+n")
        await reach(pilot, "SecretScreen")
        vault = app.services.draft.spec.vault
        assert (vault.if_soft_deleted, vault.confirm_purge) == ("purge", True)


async def test_an_existing_vault_is_adopted_with_its_access_model(make, draft_at):
    app = make()
    async with app.run_test(size=(80, 24)) as pilot:
        await open_at(pilot, draft_at("vault"), "VaultScreen")
        await wait_for(pilot, lambda: "Choose one" in str(app.screen.query_one("#existing", Select).prompt))
        app.screen.query_one("#existing", Select).value = "kv-legacy-ap"
        await wait_for(pilot, lambda: "adopted" in screen_text(app), what="the adoption")
        await pilot.press("ctrl+n")
        await reach(pilot, "SecretScreen")
        spec = app.services.draft.spec
        assert (spec.vault.name, spec.vault.resource_group, spec.vault.access_model, spec.grant.scope) == (
            "kv-legacy-ap", "rg-shared-secrets", "access_policy", "vault")
        await pilot.press("ctrl+n")
        await reach(pilot, "PermissionsScreen")
        assert "access policy" in screen_text(app) and "whole vault" in screen_text(app)


async def test_a_new_resource_group_with_its_location(make, draft_at):
    app = make()
    async with app.run_test(size=(80, 24)) as pilot:
        await open_at(pilot, draft_at("resource_group"), "ResourceGroupScreen")
        await pilot.press("ctrl+g")
        await type_text(pilot, "#new-name", "rg-prefect-demo")
        assert "exists already" in screen_text(app) and not app.screen.can_advance
        await type_text(pilot, "#new-name", "rg-made-in-the-ui")
        await wait_for(pilot, lambda: "will be created in" in screen_text(app), what="the locations")
        app.screen.query_one("#location", Select).value = "westeurope"
        await wait_for(pilot, lambda: "in westeurope" in screen_text(app))
        await pilot.press("ctrl+n")
        await reach(pilot, "IdentityScreen")
        spec = app.services.draft.spec
        assert (spec.resource_group, spec.location) == ("rg-made-in-the-ui", "westeurope")
        assert "created in rg-made-in-the-ui" in screen_text(app)


async def test_an_existing_container_group_as_target(make, draft_at):
    app = make()
    async with app.run_test(size=(80, 24)) as pilot:
        await open_at(pilot, draft_at("target"), "TargetScreen")
        list(app.screen.query_one("#kind").query(RadioButton))[1].value = True
        await wait_for(pilot, lambda: "Choose the container group" in screen_text(app))
        app.screen.query_one("#existing", Select).value = "rg-prefect-demo/cg-prefect-worker"
        await wait_for(pilot, lambda: app.screen.can_advance)
        assert "every container restarts" in screen_text(app)
        await pilot.press("ctrl+n")
        await reach(pilot, "ReviewScreen", ready=False)
        target = app.services.draft.spec.target
        assert (target.kind, target.existing, target.container_group) == ("aci", True, "cg-prefect-worker")


async def test_a_spec_file_opens_at_the_review_and_asks_for_the_secret(make, state_dir):
    app = make()
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.services.session is not None)
        await pilot.press("o")
        await wait_for(pilot, lambda: on(app, "AskDialog"))
        await type_text(pilot, "#answer", str(EXAMPLE))
        await pilot.press("enter")
        await reach(pilot, "ReviewScreen", ready=False)
        await wait_for(pilot, lambda: "value is never saved" in screen_text(app), what="the secret request")
        await pilot.press("ctrl+v")
        await wait_for(pilot, lambda: on(app, "AskDialog"))
        await type_text(pilot, "#answer", SECRET_VALUE)
        await pilot.press("enter")
        await reach(pilot, "ReviewScreen")
        assert "Create vault kv-prefect-flows" in screen_text(app)
        # Ctrl+S: the spec saved, and the notice gives the exact command that replays it (here, on the sandbox).
        saved = state_dir / "replay me.toml"
        taken = state_dir / "taken.toml"
        taken.write_text("# someone's file\n")
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: on(app, "AskDialog"), what="the save dialog")
        await type_text(pilot, "#answer", str(taken))  # an existing file: refused, not replaced
        await wait_for(pilot, lambda: "exists already" in screen_text(app), what="the existing file refused")
        await pilot.press("enter")
        assert on(app, "AskDialog") and taken.read_text() == "# someone's file\n"
        await pilot.press("escape")
        await reach(pilot, "ReviewScreen")
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: on(app, "AskDialog"), what="the save dialog")
        app.screen.query_one("#answer").value = str(saved)
        await pilot.press("enter")
        await wait_for(pilot, lambda: saved.exists(), what="the spec written", timeout=20)
        expected = f"mi-wizard apply '{saved}' --sandbox"
        # The status line's own text (on screen a long path wraps mid-word).
        await wait_for(pilot, lambda: expected in str(app.screen.query_one("#status").render()),
                       what="the replay command", timeout=20)
        # An ACI setup's spec holds ACI's fields only: nothing of the other target kinds (a Batch pool...).
        import tomllib
        target = tomllib.loads(saved.read_text())["target"]
        others = {"account", "pool", "vm_size", "dedicated_nodes", "rescale_for_identity", "cluster", "namespace",
                  "service_account", "repository", "owner_id", "repository_id", "credentials"}
        assert target["kind"] == "aci" and not others & set(target), target
    assert (state_dir / "prefect-aci.json").exists()


async def test_help_and_the_command_palette(make, draft_at):
    app = make()
    async with app.run_test(size=(80, 24)) as pilot:
        await open_at(pilot, draft_at("permissions"), "PermissionsScreen")
        await pilot.press("f1")
        await wait_for(pilot, lambda: on(app, "HelpScreen"))
        assert "Key Vault Secrets User" in screen_text(app)
        await pilot.press("escape")
        await reach(pilot, "PermissionsScreen")
        await pilot.press("ctrl+p")
        await wait_for(pilot, lambda: type(app.screen).__name__ == "CommandPalette")
        await pilot.press(*"back")
        await wait_for(pilot, lambda: "Back" in screen_text(app))
        await pilot.press("enter")
        await reach(pilot, "SecretScreen", ready=False)


async def test_without_a_sign_in_the_welcome_says_why_and_offers_the_sandbox(tmp_path, monkeypatch):
    from screens.app import make_app
    for var in ("AZURE_CLIENT_ID", "AZURE_TENANT_ID", "AZURE_CLIENT_SECRET", "AZURE_CLIENT_CERTIFICATE_PATH",
                "AZURE_FEDERATED_TOKEN_FILE", "AZURE_CONFIG_DIR"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("PATH", str(tmp_path / "no-az"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    app = make_app(state_dir=tmp_path / "state", sandbox_dir=tmp_path / "sandbox")
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            # One frame holds all of it (the list of setups may be laid out again meanwhile: read a settled frame).
            await wait_for(pilot, lambda: all(text in screen_text(app) for text in (
                "No Azure sign-in found", "Azure CLI (az) is not installed", "sandbox")), what="the explanation")
            await pilot.press("s")
            await wait_for(pilot, lambda: "Connected to the sandbox" in screen_text(app), timeout=30)
            assert "Try the sandbox" not in app.screen.help_text()  # F1 names only the buttons still shown
            await pilot.press("n", "enter")
            await reach(pilot, "SignInScreen")
    finally:
        app.services.close()


async def test_enter_on_an_empty_secret_dialog_says_what_is_needed(make):
    from screens.dialogs import secret_prompt
    app = make()
    async with app.run_test(size=(80, 24)) as pilot:
        app.push_screen(secret_prompt("git-token"))
        await wait_for(pilot, lambda: on(app, "AskDialog"), what="the secret dialog")
        await pilot.press("enter")
        await wait_for(pilot, lambda: "The value of git-token is needed" in " ".join(screen_text(app).split()),
                       what="what is needed")
        assert on(app, "AskDialog")  # still asking
