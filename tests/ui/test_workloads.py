"""Every workload through the screens, against the sandbox, to a passing verification: a new Batch pool, an
existing pool with nodes (confirmed scale to 0 and back), AKS workload identity (federated credential and a
vault grant, with the ServiceAccount manifest), GitHub OIDC without a vault, and grants for a platform's
existing identity (a container, a registry, one secret of another vault)."""

from __future__ import annotations

import pytest
from textual.widgets import Checkbox, RadioButton, Select

from wizard.azure import roles
from wizard.state_store import StateStore
from wizard.steps.base import assignment_name

from .helpers import (
    SECRET_VALUE,
    assert_secret_nowhere,
    new_draft,
    on,
    open_at,
    reach,
    screen_text,
    start_new,
    through_to_vault,
    type_text,
    wait_for,
)

pytestmark = pytest.mark.timeout(60)


def pick(app, radio_set: str, name: str) -> None:
    """Turn on the radio button `name` of a RadioSet (as a click would)."""
    for button in app.screen.query_one(radio_set).query(RadioButton):
        if button.name == name:
            button.value = True


def text_of(app, selector: str) -> str:
    return str(app.screen.query_one(selector).render())


async def next_to(pilot, screen: str, **kwargs) -> None:
    await pilot.press("ctrl+n")
    await reach(pilot, screen, **kwargs)


async def open_target(pilot, state_dir, sandbox, name: str, group: str, location: str) -> None:
    """A setup chosen up to the target screen in `group` (the secret's value as if typed earlier): stand there."""
    path = new_draft(state_dir, name, at="target", subscription=sandbox.subscription_ids[0], resource_group=group,
                     location=location)
    await open_at(pilot, path, "TargetScreen")
    pilot.app.services.secret.set(SECRET_VALUE)  # opening a setup forgets any value typed before


async def apply_and_verify(pilot) -> str:
    """From the review: wait for the plan, apply, and return the result screen's text once it passed."""
    app = pilot.app
    await wait_for(pilot, lambda: app.screen.plan is not None and app.screen.can_advance,
                   what="the plan", timeout=30)
    await next_to(pilot, "ResultScreen", timeout=45)
    shown = screen_text(app)
    assert "Verification passed" in shown, shown
    return shown


async def test_a_batch_setup_on_a_new_pool(make, state_dir, sandbox):
    app = make()
    async with app.run_test(size=(80, 24)) as pilot:
        await start_new(pilot, "batch-new")
        await through_to_vault(pilot, "rg-batch-jobs")
        await wait_for(pilot, lambda: "is available" in screen_text(app), what="the vault name check")
        await next_to(pilot, "SecretScreen")
        await type_text(pilot, "#value", SECRET_VALUE)
        await next_to(pilot, "PermissionsScreen")
        await next_to(pilot, "TargetScreen")
        pick(app, "#kind", "batch_new")
        await wait_for(pilot, lambda: "Choose the account" in str(app.screen.query_one("#account", Select).prompt))
        app.screen.query_one("#account", Select).value = "rg-batch-jobs/contosobatch"
        await type_text(pilot, "#pool-name", "pool-etl")  # taken: the screen says to pick it as an existing pool
        await wait_for(pilot, lambda: "has a pool named pool-etl" in screen_text(app), what="the taken pool name")
        assert not app.screen.can_advance
        await type_text(pilot, "#pool-name", "pool-secure")
        await type_text(pilot, "#nodes", "1")
        await wait_for(pilot, lambda: app.screen.can_advance, what="the new pool")
        assert "pool-secure will be created in contosobatch" in screen_text(app)
        await next_to(pilot, "GrantsScreen")  # Batch: the optional other-access screen follows
        assert "step 9 of 12" in app.screen.sub_title
        await next_to(pilot, "ReviewScreen", ready=False)
        shown = await apply_and_verify(pilot)
        assert "✓ The pool's nodes" in shown
        steps = str(app.screen.query_one("#next-steps").render())
        assert "Azure Batch pool pool-secure" in steps and "AZURE_CLIENT_ID=" in steps
    state = StateStore(state_dir / "batch-new.json").load()
    target = state.spec["target"]
    assert (target["kind"], target["account"], target["pool"], target["existing"], target["dedicated_nodes"],
            target["resource_group"]) == ("batch", "contosobatch", "pool-secure", False, 1, "")
    assert state.step("verify").status == "done" and state.ui["screen"] == "result"
    assert_secret_nowhere(state_dir)


async def test_an_existing_pool_with_nodes_through_the_confirmed_rescale(make, state_dir, sandbox):
    app = make()
    async with app.run_test(size=(80, 24)) as pilot:
        await open_target(pilot, state_dir, sandbox, "batch-etl", "rg-batch-jobs", "westeurope")
        pick(app, "#kind", "batch_existing")
        await wait_for(pilot, lambda: "Choose the pool" in str(app.screen.query_one("#pool", Select).prompt))
        app.screen.query_one("#pool", Select).value = "rg-batch-jobs/contosobatch/pool-etl"
        await wait_for(pilot, lambda: "scales to 0 and back" in screen_text(app), what="the node warning")
        shown = screen_text(app)
        assert "pool-etl has 2 nodes" in shown and "booted with" in shown
        rescale = app.screen.query_one("#rescale", Checkbox)
        assert rescale.display and not rescale.value
        rescale.value = True
        await wait_for(pilot, lambda: "Downtime" in text_of(app, "#rescale-note"), what="the downtime")
        assert "restores 2 dedicated nodes" in text_of(app, "#rescale-note")
        await next_to(pilot, "GrantsScreen")
        assert app.services.draft.spec.target.rescale_for_identity is True
        await next_to(pilot, "ReviewScreen", ready=False)
        await wait_for(pilot, lambda: app.screen.plan is not None, what="the plan")
        actions = {i["step"]: i["action"] for i in app.screen.plan.items}
        assert (actions["batch"], actions["rescale"]) == ("update", "update")
        await apply_and_verify(pilot)
    state = StateStore(state_dir / "batch-etl.json").load()
    assert state.step("rescale").outputs.get("phase") == "done"
    pool = app.services.session.for_subscription(sandbox.subscription_ids[0]).batch.pool.get(
        "rg-batch-jobs", "contosobatch", "pool-etl")
    assert pool.properties.current_dedicated_nodes == 2  # restored
    assert_secret_nowhere(state_dir)


async def test_an_aks_workload_identity_setup_shows_the_manifest(make, state_dir, sandbox):
    app = make()
    async with app.run_test(size=(80, 24)) as pilot:
        await open_target(pilot, state_dir, sandbox, "aks-apps", "rg-aks-apps", "westus2")
        pick(app, "#kind", "aks")
        await wait_for(pilot, lambda: "federated credential" in screen_text(app))
        await next_to(pilot, "AksScreen", ready=False)
        await wait_for(pilot, lambda: app.screen.cluster() is not None, what="the only cluster, chosen")
        await type_text(pilot, "#namespace", "Apps")  # Kubernetes names are lower-case
        await wait_for(pilot, lambda: "not a Kubernetes namespace" in text_of(app, "#status"),
                       what="the namespace rule")
        await type_text(pilot, "#namespace", "apps")
        await type_text(pilot, "#service-account", "workload-sa")
        await wait_for(pilot, lambda: "system:serviceaccount:apps:workload-sa" in screen_text(app))
        await type_text(pilot, "#cred-name", "-bad")
        await wait_for(pilot, lambda: "starts with '-'" in text_of(app, "#status"), what="the name rule")
        await type_text(pilot, "#cred-name", "aks-apps-workload")
        await wait_for(pilot, lambda: app.screen.can_advance, what="a complete credential")
        await next_to(pilot, "GrantsScreen")
        assert app.services.draft.spec.target.subject == "system:serviceaccount:apps:workload-sa"
        await next_to(pilot, "ReviewScreen", ready=False)
        await apply_and_verify(pilot)
        steps = str(app.screen.query_one("#next-steps").render())
        client_id = app.screen.identity["client_id"]
        assert "kind: ServiceAccount" in steps and "name: workload-sa" in steps and "namespace: apps" in steps
        assert f'azure.workload.identity/client-id: "{client_id}"' in steps
        app.screen.query_one("#copy-steps").press()
        await wait_for(pilot, lambda: "kind: ServiceAccount" in (app.clipboard or ""), what="the copied manifest")
    state = StateStore(state_dir / "aks-apps.json").load()
    assert [link["link"] for link in state.step("verify").outputs["links"]][:3] == [
        "identity", "federation:aks-apps-workload", "cluster:aks-apps"]
    assert state.step("grant").status == "done"


async def test_a_github_oidc_setup_without_a_vault(make, state_dir, sandbox):
    path = new_draft(state_dir, "gh-deploy", at="vault", subscription=sandbox.subscription_ids[0])
    app = make()
    async with app.run_test(size=(80, 24)) as pilot:
        await open_at(pilot, path, "VaultScreen", ready=False)
        app.screen.query_one("#no-vault", Checkbox).value = True
        await wait_for(pilot, lambda: app.screen.can_advance and "No vault" in screen_text(app))
        await next_to(pilot, "TargetScreen")  # no secret, no permissions screen
        pick(app, "#kind", "github")
        await next_to(pilot, "GithubScreen", ready=False)
        pick(app, "#subject-form", "name")  # the demo's contoso/infra predates immutable subjects
        await type_text(pilot, "#repository", "contoso/infra")
        await type_text(pilot, "#entity-value", "release/*")
        await wait_for(pilot, lambda: "wildcard" in text_of(app, "#status"), what="the wildcard rule")
        await type_text(pilot, "#entity-value", "main")
        await wait_for(pilot, lambda: "repo:contoso/infra:ref:refs/heads/main" in screen_text(app))
        await pilot.press("ctrl+t")  # added; then a second one for the production environment
        await wait_for(pilot, lambda: len(app.screen.entries) == 1)
        pick(app, "#entity", "environment")
        await type_text(pilot, "#entity-value", "production")
        await type_text(pilot, "#runner-group", "rg-prefect-demo")
        app.screen.query_one("#runner-role", Select).value = "Reader"
        await wait_for(pilot, lambda: "repo:contoso/infra:environment:production" in screen_text(app))
        await wait_for(pilot, lambda: app.screen.ready, what="the environment credential")
        await next_to(pilot, "GrantsScreen")
        await next_to(pilot, "ReviewScreen", ready=False)
        await apply_and_verify(pilot)
        assert "every link is in place" in screen_text(app)
        steps = str(app.screen.query_one("#next-steps").render())
        assert "id-token: write" in steps and "environment: production" in steps
    state = StateStore(state_dir / "gh-deploy.json").load()
    assert state.spec["vault"]["name"] == "" and "secret" not in state.steps and "vault" not in state.steps
    assert [f["subject"] for f in state.step("github").outputs["credentials"]] == [
        "repo:contoso/infra:ref:refs/heads/main", "repo:contoso/infra:environment:production"]
    assert state.spec["target"]["runner_role"] == "Reader"


async def test_grants_for_an_existing_platform_identity(make, state_dir, sandbox, az):
    # Another team's RBAC vault with a secret: the scope of a per-secret grant.
    az.resources.resource_groups.create_or_update("rg-team-secrets", {"location": "eastus"})
    vault = az.keyvault.vaults.begin_create_or_update("rg-team-secrets", "kv-team-secrets", {
        "location": "eastus", "properties": {"tenantId": sandbox.tenant_id, "sku": {"family": "A", "name": "standard"},
                                             "enableRbacAuthorization": True}}).result()
    operator = sandbox.operator()["objectId"]
    az.authorization.role_assignments.create(vault.id, assignment_name(vault.id, operator, roles.SECRETS_OFFICER.guid), {
        "properties": {"roleDefinitionId": roles.SECRETS_OFFICER.definition_id(sandbox.subscription_ids[0]),
                       "principalId": operator, "principalType": "ServicePrincipal"}})
    az.secrets(vault.properties.vault_uri).set_secret("flyte-db", SECRET_VALUE)

    path = new_draft(state_dir, "platform", at="identity", subscription=sandbox.subscription_ids[0],
                     resource_group="rg-platform", location="northeurope")
    app = make()
    async with app.run_test(size=(80, 24)) as pilot:
        await open_at(pilot, path, "IdentityScreen")
        app.screen.query_one("#existing-only", Checkbox).value = True
        await type_text(pilot, "#name", "userflyrole")  # a typo: it does not exist, and mi-wizard will not create it
        await wait_for(pilot, lambda: "No identity named userflyrole" in text_of(app, "#status"),
                       what="the missing identity")
        assert not app.screen.can_advance
        await type_text(pilot, "#name", "userflyterole")
        await wait_for(pilot, lambda: "is used as it is" in screen_text(app), what="the existing identity")
        await next_to(pilot, "VaultScreen", ready=False)
        app.screen.query_one("#no-vault", Checkbox).value = True
        await wait_for(pilot, lambda: app.screen.can_advance)
        await next_to(pilot, "TargetScreen")
        pick(app, "#kind", "platform")
        await next_to(pilot, "GrantsScreen")
        await wait_for(pilot, lambda: not app.screen.query_one("FilterList").loading, what="the resources")
        await type_text(pilot, "#scopes .filter", "db-password")  # a secret of a vault with access policies
        await pilot.press("enter")
        await wait_for(pilot, lambda: "uses access policies" in text_of(app, "#status"), what="the refused scope")
        assert not app.screen.ready
        for needle, role in (("raw", "Storage Blob Data Contributor"), ("acrcontoso", None), ("flyte-db", None)):
            await type_text(pilot, "#scopes .filter", needle)
            await pilot.press("enter")
            await wait_for(pilot, lambda: app.screen.scope is not None, what=f"{needle} chosen")
            if role:  # least privilege is offered first (Reader); the jobs write, so Contributor
                assert app.screen.query_one("#role", Select).value == "Storage Blob Data Reader"
                app.screen.query_one("#role", Select).value = role
                await wait_for(pilot, lambda: "Read, write and delete blobs" in text_of(app, "#role-note"))
            await wait_for(pilot, lambda: app.screen.ready, what=f"the grant on {needle}")
            if needle != "flyte-db":
                await pilot.press("ctrl+t")
                await wait_for(pilot, lambda: app.screen.scope is None, what="the grant added")
        await next_to(pilot, "ReviewScreen", ready=False)  # Next added the third grant
        await apply_and_verify(pilot)
        assert "Grant AcrPull on acrcontoso" in screen_text(app)
    state = StateStore(state_dir / "platform.json").load()
    assert state.spec["identity"] == {"name": "userflyterole", "resource_group": "", "existing": True}
    assert [(g["role"], g["scope"].rsplit("/", 1)[-1]) for g in state.spec["grant_extra"]] == [
        ("Storage Blob Data Contributor", "raw"), ("AcrPull", "acrcontoso"), ("Key Vault Secrets User", "flyte-db")]
    assert [link["link"] for link in state.step("verify").outputs["links"]] == [
        "identity", "grant_extra:Storage Blob Data Contributor@raw", "grant_extra:AcrPull@acrcontoso",
        "grant_extra:Key Vault Secrets User@flyte-db"]
    assert_secret_nowhere(state_dir)


@pytest.mark.parametrize("example", ["batch-pool", "aks-workload-identity", "github-oidc", "platform-grants"])
async def test_a_workload_spec_file_round_trips_through_its_screens(make, state_dir, example):
    """Opened from its spec file, walked back to the identity screen and forward again: every screen shows the
    file's choices (each offers Next as it stands) and the spec comes out unchanged."""
    from pathlib import Path

    from screens.order import shown_screens
    from wizard.draft import Draft
    source = Path(__file__).resolve().parents[2] / "examples" / f"{example}.toml"
    draft = Draft.from_spec_file(source, directory=state_dir, cloud="sandbox")
    before = draft.spec.to_dict()
    shown = shown_screens(draft)
    draft.record(at=shown[shown.index("review") - 1])
    app = make()
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.services.session is not None, what="the session")
        app.open_setup(Draft.open(draft.store.path))
        await wait_for(pilot, lambda: getattr(app.screen, "SCREEN_ID", "") == draft.screen, what=draft.screen)
        walked = []
        while not on(app, "IdentityScreen"):
            await wait_for(pilot, lambda: app.screen.can_advance, what=f"{type(app.screen).__name__} ready")
            walked.append(app.screen.SCREEN_ID)
            current = app.screen
            await pilot.press("escape")
            await wait_for(pilot, lambda: app.screen is not current and app.screen.is_mounted)
        assert walked[::-1] == [s for s in shown if s in walked]
        while not on(app, "ReviewScreen"):
            await wait_for(pilot, lambda: app.screen.can_advance, what=f"{type(app.screen).__name__} ready")
            current = app.screen
            await pilot.press("ctrl+n")
            await wait_for(pilot, lambda: app.screen is not current and app.screen.is_mounted)
    assert Draft.open(draft.store.path).spec.to_dict() == before
