"""The plan is a contract: what the review shows is what apply does.

An access-policy vault chosen on the vault screen gets a plan (and a run) with no RBAC and no operator access at
all, the secret written through Azure Resource Manager. And when Azure changes between the review and Apply, the
apply screen says so and changes nothing until the person has seen the new plan and continues.
"""

from __future__ import annotations

import pytest
from textual.widgets import RadioButton

from screens.apply import ApplyScreen

from .helpers import reach, screen_text, start_new, through_to_vault, vault_to_review, wait_for

pytestmark = pytest.mark.timeout(120)

GROUP = "rg-prefect-demo"


def writes_since(sandbox, mark: int) -> list:
    """Every call since `mark` that could change Azure: anything but a read, a name check or a sign-in."""
    return [c for c in sandbox.calls[mark:] if c.method not in ("GET", "HEAD")
            and not (c.method == "POST" and "checknameavailability" in c.path.lower())
            and not c.operation.startswith("entra_")]


def on_screen(app) -> str:
    """The screen's text with its wrapped lines joined."""
    return " ".join(screen_text(app).split())


def spy_on_waits(monkeypatch) -> list[str]:
    """The reason of every wait the apply screen shows with its countdown, in order."""
    shown: list[str] = []
    original = ApplyScreen._show_wait

    def show_wait(self, event):
        if event is not None:
            shown.append(event.reason)
        original(self, event)
    monkeypatch.setattr(ApplyScreen, "_show_wait", show_wait)
    return shown


async def choose_access_policies(pilot) -> None:
    """On the vault screen: press the access-policy model's radio button, as a person would."""
    app = pilot.app
    button = next(b for b in app.screen.query_one("#model").query(RadioButton) if b.name == "access_policy")
    button.scroll_visible(animate=False)
    await pilot.pause()
    await pilot.click(button)
    await wait_for(pilot, lambda: button.value, what="the access-policy model chosen")
    await wait_for(pilot, lambda: app.screen.typed()["access_model"] == "access_policy", what="the model read back")


async def test_a_new_access_policy_vault_needs_no_rbac_and_no_operator_access(make, sandbox, az, monkeypatch):
    waits = spy_on_waits(monkeypatch)
    operator = sandbox.operator()["objectId"]
    app = make()
    async with app.run_test(size=(80, 24)) as pilot:
        await start_new(pilot, "policy-vault")
        await through_to_vault(pilot)
        await wait_for(pilot, lambda: "is available" in screen_text(app), what="the vault name check")
        vault_name = app.screen.name_value
        await choose_access_policies(pilot)
        await vault_to_review(pilot)

        review = on_screen(app)
        plan = " ".join(str(app.screen.query_one("#plan").render()).split())  # the whole plan, scrolled or not
        assert f"Create vault {vault_name} in {GROUP} using access policies." in review
        assert "through Azure Resource Manager (no data-plane access needed)" in review
        for text in (review, plan):
            assert "Secrets Officer" not in text and "RBAC" not in text
            assert "temporary access" not in text and "operator" not in text.lower()
        assert "Add an access policy for id-policy-vault with secrets: get" in plan

        mark = len(sandbox.calls)
        await pilot.press("ctrl+n")
        # The apply may finish before the apply screen is looked at: either screen means it started.
        await wait_for(pilot, lambda: type(app.screen).__name__ in ("ApplyScreen", "ResultScreen"), what="the apply")
        seen: list[str] = []

        def finished() -> bool:
            text = screen_text(app)
            seen.append(text)
            return type(app.screen).__name__ == "ResultScreen"
        await wait_for(pilot, finished, timeout=90, what="the result")
        await reach(pilot, "ResultScreen")
        assert "Verification passed" in screen_text(app)
        principal = app.screen.identity["principal_id"]

    # The operator's access was never waited for: no countdown for it on screen, none shown by the apply screen.
    assert not [t for t in seen if "Waiting for your" in t or "temporary Key Vault access" in t]
    assert not [w for w in waits if "your" in w.lower() or "operator" in w.lower()], waits

    vault = az.keyvault.vaults.get(GROUP, vault_name)
    assert vault.properties.enable_rbac_authorization is False
    policies = vault.properties.access_policies or []
    assert [p.object_id for p in policies] == [principal]
    assert operator not in {p.object_id for p in policies}
    assert {getattr(p, "value", p) for p in policies[0].permissions.secrets or []} == {"get"}

    role_writes = [c for c in sandbox.calls[mark:] if c.operation == "role_assignment_create"]
    assert not role_writes, role_writes
    scope = f"/subscriptions/{sandbox.subscription_ids[0]}"
    mine = [a for a in az.authorization.role_assignments.list_for_scope(scope) if a.principal_id == operator
            and vault_name.lower() in (a.scope or "").lower()]
    assert not mine, mine


async def test_apply_refuses_a_plan_azure_no_longer_matches_then_continue_applies_the_new_one(make, sandbox, az):
    app = make()
    async with app.run_test(size=(80, 24)) as pilot:
        await start_new(pilot, "changed-under-review")
        await through_to_vault(pilot)
        await wait_for(pilot, lambda: "is available" in screen_text(app), what="the vault name check")
        await vault_to_review(pilot)
        spec = app.services.draft.spec
        group, identity = spec.identity_group, spec.identity.name
        plan = " ".join(str(app.screen.query_one("#plan").render()).split())
        assert f"CREATE Managed identity No identity named {identity} in {group}; it will be created." in plan
        if "CREATE Resource group" in plan:
            az.resources.resource_groups.create_or_update(group, {"location": "eastus"})

        # Someone else creates the identity while the person reads the review.
        az.msi.user_assigned_identities.create_or_update(group, identity, {"location": "eastus"})
        mark = len(sandbox.calls)
        await pilot.press("ctrl+n")
        await reach(pilot, "ApplyScreen", ready=False)
        await wait_for(pilot, lambda: app.screen.can_advance and not app.screen.running, what="Continue offered")
        await wait_for(pilot, lambda: "Managed identity: create -> adopt" in on_screen(app), what="the change")
        shown = on_screen(app)
        assert "Azure changed since you reviewed the plan, so nothing was changed yet" in shown
        assert f'now "{identity} exists' in shown and "Continue applies the plan as it is now" in shown
        assert not writes_since(sandbox, mark), writes_since(sandbox, mark)
        assert all(status == "pending" for status in app.services.draft.statuses().values())

        await pilot.press("ctrl+n")  # Continue: the plan as it is now (the identity adopted)
        await reach(pilot, "ResultScreen", timeout=90)
        assert "Verification passed" in screen_text(app)

    adopted = az.msi.user_assigned_identities.get(group, identity)
    assert app.services.draft.state.step("identity").outputs["principal_id"] == adopted.principal_id
    assert app.services.draft.state.step("identity").action == "adopt"
    assert not [c for c in sandbox.calls[mark:] if c.operation == "managed_identity_create"]


async def test_continue_applies_the_plan_it_showed_not_one_azure_moved_to_since(make, sandbox, az):
    app = make()
    async with app.run_test(size=(80, 24)) as pilot:
        await start_new(pilot, "changed-twice")
        await through_to_vault(pilot)
        await wait_for(pilot, lambda: "is available" in screen_text(app), what="the vault name check")
        await vault_to_review(pilot)
        group, identity = app.services.draft.spec.identity_group, app.services.draft.spec.identity.name
        az.msi.user_assigned_identities.create_or_update(group, identity, {"location": "eastus"})
        await pilot.press("ctrl+n")
        await reach(pilot, "ApplyScreen", ready=False)
        await wait_for(pilot, lambda: app.screen.can_advance and not app.screen.running, what="Continue offered")
        await wait_for(pilot, lambda: "Managed identity: create -> adopt" in on_screen(app), what="the change")

        # While the person reads what changed, the identity goes away again: Continue must not create it unseen.
        az.msi.user_assigned_identities.delete(group, identity)
        mark = len(sandbox.calls)
        await pilot.press("ctrl+n")
        await wait_for(pilot, lambda: "Managed identity: adopt -> create" in on_screen(app), what="the new change")
        await wait_for(pilot, lambda: app.screen.can_advance and not app.screen.running, what="Continue offered")
        assert "Azure changed since you reviewed the plan, so nothing was changed yet" in on_screen(app)
        assert not writes_since(sandbox, mark), writes_since(sandbox, mark)

        await pilot.press("ctrl+n")  # Continue: the plan just shown (create the identity after all)
        await reach(pilot, "ResultScreen", timeout=90)
        assert "Verification passed" in screen_text(app)
    assert app.services.draft.state.step("identity").action == "create"
