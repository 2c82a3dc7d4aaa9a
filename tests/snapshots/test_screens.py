"""One snapshot per screen at 80x24, stable from run to run.

Screens that read Azure use the demo sandbox (its names and ids are fixed); the review, apply and result
screens are built from fixed data (a real run's client ids are random).
"""

from __future__ import annotations

import pytest

from screens.messages import PlanMade
from tests.ui.helpers import SECRET_VALUE, on, open_at, reach, type_text, wait_for
from wizard.draft import Draft

pytestmark = pytest.mark.timeout(60)

SUB = "c5020963-5130-535d-9b8e-dc6f7ba47c15"
IDENTITY = {"id": f"/subscriptions/{SUB}/resourceGroups/rg-prefect-demo/providers/Microsoft.ManagedIdentity/"
                  "userAssignedIdentities/id-snap", "client_id": "0f6b3a52-8d1e-4c55-9f0a-6a1c2b3d4e5f",
            "principal_id": "7c9d2e14-3b6a-4f8e-a1d2-5e6f7a8b9c0d"}
PLAN = [
    {"step": "resource_group", "title": "Resource group", "action": "adopt",
     "reason": "rg-prefect-demo exists in eastus.", "details": [], "problems": []},
    {"step": "identity", "title": "Managed identity", "action": "create",
     "reason": "No identity named id-snap in rg-prefect-demo; it will be created.", "details": [], "problems": []},
    {"step": "vault", "title": "Key Vault", "action": "create",
     "reason": "Create vault kv-snap in rg-prefect-demo using Azure RBAC (per-secret least privilege).",
     "details": ["Soft delete is always on (90 days); purge protection is off."], "problems": []},
    {"step": "secret", "title": "Secret", "action": "create",
     "reason": "Store app-secret from what you typed (masked) through Azure Resource Manager (no data-plane access "
               "needed); only its version id is recorded.", "details": [], "problems": []},
    {"step": "grant", "title": "Read access for the identity", "action": "create",
     "reason": "Grant id-snap Key Vault Secrets User on this one secret: it can read secret values and nothing "
               "else (least privilege).", "details": [], "problems": []},
    {"step": "aci", "title": "Container group (ACI)", "action": "create",
     "reason": "Create container group cg-snap (mcr.microsoft.com/azure-cli) with the identity and AZURE_CLIENT_ID "
               "set, so the workload picks this identity.", "details": [], "problems": []},
    {"step": "probe", "title": "Live probe: the workload's identity reads the secret", "action": "check",
     "reason": "A short-lived container group with the identity reads the secret and reports (never the value); "
               "it is deleted afterwards.", "details": [], "problems": []},
]
LINKS = [("identity", f"id-snap: client id {IDENTITY['client_id']}, principal id {IDENTITY['principal_id']}."),
         ("attached", "cg-snap carries id-snap and sets AZURE_CLIENT_ID."),
         ("grant", "Key Vault Secrets User at the secret app-secret."),
         ("secret", "app-secret exists and is enabled.")]
REPORT = {"passed": False, "links": [{"link": k, "ok": True, "detail": d, "fix": "", "pending": False}
                                     for k, d in LINKS] + [
    {"link": "probe", "ok": False, "pending": False, "detail": "Key Vault refused the identity: ForbiddenByRbac.",
     "fix": "Grant Key Vault Secrets User on the secret to the identity."}]}


async def loaded(pilot, selector: str = "FilterList") -> None:
    await wait_for(pilot, lambda: not pilot.app.screen.query_one(selector).loading, what="the list")
    await pilot.pause()


def test_welcome(snap_compare, snap_app, write_setup):
    """Three setups: one done (8/8), one stopped during apply (4/8), one being chosen (at Key Vault)."""
    done = ["resource_group", "identity", "vault", "secret", "grant", "aci", "probe", "verify"]
    write_setup("prefect-aci", screen="result", steps={s: "done" for s in done})
    write_setup("batch-jobs", screen="apply", steps={**{s: "done" for s in done[:4]},
                                                     **{s: "pending" for s in done[4:]}})
    write_setup("platform-flyte", screen="vault")

    async def run_before(pilot):
        await wait_for(pilot, lambda: on(pilot.app, "WelcomeScreen"), what="the welcome screen mounted")
        await wait_for(pilot, lambda: "Connected" in str(pilot.app.screen.query_one("#connection").render()))
        await wait_for(pilot, lambda: pilot.app.screen.query("#setups") and pilot.app.screen.query_one("#setups").row_count == 3)
        await pilot.pause()
    assert snap_compare(snap_app(), run_before=run_before)


def test_sign_in(snap_compare, snap_app, write_setup):
    """Signed in to the sandbox as its operator, with the tenant shown."""
    path = write_setup("snap", screen="signin")
    assert snap_compare(snap_app(), run_before=lambda pilot: open_at(pilot, path, "SignInScreen"))


def test_subscription(snap_compare, snap_app, write_setup):
    """Both demo subscriptions, the first highlighted."""
    path = write_setup("snap", screen="subscription")

    async def run_before(pilot):
        await open_at(pilot, path, "SubscriptionScreen")
        await loaded(pilot)
    assert snap_compare(snap_app(), run_before=run_before)


def test_resource_group(snap_compare, snap_app, write_setup):
    """The demo groups filtered by "rg-p": rg-prefect-demo and rg-platform."""
    path = write_setup("snap", screen="resource_group", answers={"resource_group": {"filter": "rg-p"}})

    async def run_before(pilot):
        await open_at(pilot, path, "ResourceGroupScreen")
        await loaded(pilot)
    assert snap_compare(snap_app(), run_before=run_before)


def test_identity(snap_compare, snap_app, write_setup):
    """A new identity's name, checked; the demo subscription's identities offered for adoption."""
    path = write_setup("snap", screen="identity")

    async def run_before(pilot):
        await open_at(pilot, path, "IdentityScreen")
        await wait_for(pilot, lambda: "Loading" not in str(pilot.app.screen.query_one("#existing").prompt))
        await pilot.pause()
    assert snap_compare(snap_app(), run_before=run_before)


def test_vault_name_taken(snap_compare, snap_app, write_setup, monkeypatch):
    """kv-contoso is taken by someone else: three free names suggested (a fixed seed makes them repeatable)."""
    import random
    monkeypatch.setattr(random, "SystemRandom", lambda: random.Random(7))
    path = write_setup("snap", screen="vault", answers={"vault": {"name": "kv-contoso"}})

    async def run_before(pilot):
        await open_at(pilot, path, "VaultScreen", ready=False)
        await wait_for(pilot, lambda: "Choose one" in str(pilot.app.screen.query_one("#existing").prompt))
        await wait_for(pilot, lambda: pilot.app.screen.query(".suggestion"), what="the suggestions")
        await pilot.pause()
    assert snap_compare(snap_app(), run_before=run_before)


def test_secret(snap_compare, snap_app, write_setup):
    """The value typed is masked; the note says it is kept in memory only."""
    path = write_setup("snap", screen="secret")

    async def run_before(pilot):
        await open_at(pilot, path, "SecretScreen")
        await type_text(pilot, "#value", SECRET_VALUE)
        await pilot.pause()
    assert snap_compare(snap_app(), run_before=run_before)


def test_permissions(snap_compare, snap_app, write_setup):
    """Key Vault Secrets User for the identity on one secret, and why that is the least privilege."""
    path = write_setup("snap", screen="permissions")
    assert snap_compare(snap_app(), run_before=lambda pilot: open_at(pilot, path, "PermissionsScreen"))


def test_target(snap_compare, snap_app, write_setup):
    """An existing container group chosen: the demo's Prefect worker, with the restart warning."""
    path = write_setup("snap", screen="target", target={"kind": "aci", "existing": True,
                                                          "container_group": "cg-prefect-worker"})

    async def run_before(pilot):
        await open_at(pilot, path, "TargetScreen")
        await pilot.pause()
    assert snap_compare(snap_app(), run_before=run_before)


def test_review(snap_compare, snap_app, write_setup):
    """The plan: one adopt and six creates, each with its reason; Apply offered."""
    path = write_setup("snap", screen="review")

    async def run_before(pilot):
        from screens.review import ReviewScreen
        app = pilot.app
        await wait_for(pilot, lambda: app.services.session is not None)
        app.services.draft = Draft.open(path)
        await app.switch_screen(ReviewScreen(app.services, plan=PlanMade(PLAN, [])))
        await reach(pilot, "ReviewScreen")
    assert snap_compare(snap_app(), run_before=run_before)


def test_apply_resumed(snap_compare, snap_app, write_setup):
    """A setup stopped during apply: four steps done, the grant waiting (a new identity not yet known to role
    assignments); Continue offered."""
    steps = {"resource_group": "done", "identity": "done", "vault": "done", "secret": "done",
             "grant": "waiting", "aci": "pending", "probe": "pending", "verify": "pending"}
    plan = [{"step": i["step"], "title": i["title"], "action": i["action"]} for i in PLAN]
    path = write_setup("snap", screen="apply", steps=steps, plan=plan)
    assert snap_compare(snap_app(), run_before=lambda pilot: open_at(pilot, path, "ApplyScreen"))


def test_result(snap_compare, snap_app, write_setup):
    """Four links green, the probe red with its fix; the ids and next steps below."""
    path = write_setup("snap", screen="result")

    async def run_before(pilot):
        from screens.result import ResultScreen
        app = pilot.app
        await wait_for(pilot, lambda: app.services.session is not None)
        app.services.draft = Draft.open(path)
        await app.switch_screen(ResultScreen(app.services, report=REPORT, identity=IDENTITY))
        await reach(pilot, "ResultScreen")
    assert snap_compare(snap_app(), run_before=run_before)


def test_help(snap_compare, snap_app):
    """F1 on the welcome screen: what a setup is, and the keys."""
    async def run_before(pilot):
        await wait_for(pilot, lambda: pilot.app.services.session is not None)
        await pilot.press("f1")
        await wait_for(pilot, lambda: type(pilot.app.screen).__name__ == "HelpScreen")
        await pilot.pause()
    assert snap_compare(snap_app(), run_before=run_before)
