"""Snapshots of the workload screens at 80x24: the Batch part of the target screen (an existing pool with nodes,
the scale to 0 and back confirmed), the AKS and GitHub targets' screens, and other access. Built from the demo sandbox's
fixed names or from fixed records (a real cluster's issuer URL carries the sandbox's port)."""

from __future__ import annotations

import pytest

from tests.ui.helpers import open_at, reach, wait_for
from wizard.catalog import AksCluster, GrantScope
from wizard.draft import Draft

pytestmark = pytest.mark.timeout(60)

SUB = "c5020963-5130-535d-9b8e-dc6f7ba47c15"
CLUSTER = AksCluster("aks-apps", "rg-aks-apps", "westus2", f"/subscriptions/{SUB}/resourceGroups/rg-aks-apps/"
                     "providers/Microsoft.ContainerService/managedClusters/aks-apps", True,
                     "https://oidc.example/aks-apps/", True)
STORAGE = f"/subscriptions/{SUB}/resourceGroups/rg-platform/providers/Microsoft.Storage/storageAccounts/stcontosodata"
SCOPES = [GrantScope("storage", "stcontosodata", "rg-platform", STORAGE, detail="every container"),
          GrantScope("container", "raw", "rg-platform", f"{STORAGE}/blobServices/default/containers/raw",
                     parent="stcontosodata"),
          GrantScope("registry", "acrcontoso", "rg-platform", f"/subscriptions/{SUB}/resourceGroups/rg-platform/"
                     "providers/Microsoft.ContainerRegistry/registries/acrcontoso"),
          GrantScope("secret", "flyte-db", "rg-team-secrets", f"/subscriptions/{SUB}/resourceGroups/rg-team-secrets/"
                     "providers/Microsoft.KeyVault/vaults/kv-team-secrets/secrets/flyte-db", parent="kv-team-secrets")]


def test_target_batch_pool_with_nodes(snap_compare, snap_app, write_setup):
    """The demo's pool-etl (2 nodes) chosen: its nodes get the identity only after a scale to 0 and back, which
    is confirmed, with the downtime spelled out."""
    path = write_setup("snap", screen="target", target={
        "kind": "batch", "existing": True, "account": "contosobatch", "pool": "pool-etl",
        "resource_group": "rg-batch-jobs", "rescale_for_identity": True})

    async def run_before(pilot):
        await open_at(pilot, path, "TargetScreen")
        await wait_for(pilot, lambda: "Downtime" in str(pilot.app.screen.query_one("#rescale-note").render()))
        await wait_for(pilot, lambda: pilot.app.screen.can_advance, what="the pool evaluated")
        # Scrolled to the end, where the confirmation and its downtime are: a fixed place (scrolling a widget into
        # view depends on where the body was, and the other lists load meanwhile).
        body = pilot.app.screen.query_one("#body")
        await pilot.pause()
        body.scroll_end(animate=False, immediate=True)
        await wait_for(pilot, lambda: body.max_scroll_y > 0 and body.scroll_y == body.max_scroll_y,
                       what="the end of the screen")
        await pilot.pause()
    assert snap_compare(snap_app(), run_before=run_before)


def test_aks_target(snap_compare, snap_app, write_setup):
    """The AKS target's screen: the only cluster chosen, a service account typed; the subject and the derived
    name shown as Entra ID will compare them."""
    form = {"cluster": "rg-aks-apps/aks-apps", "namespace": "apps", "service_account": "workload-sa"}
    path = write_setup("snap", screen="details", target={"kind": "aks"}, answers={"details": form})

    async def run_before(pilot):
        from screens.target_aks import AksScreen
        app = pilot.app
        await wait_for(pilot, lambda: app.services.session is not None)
        app.services.draft = Draft.open(path)
        await app.switch_screen(AksScreen(app.services, clusters=[CLUSTER]))
        await reach(pilot, "AksScreen")
        await wait_for(pilot, lambda: app.screen.can_advance)
    assert snap_compare(snap_app(), run_before=run_before)


def test_github_target(snap_compare, snap_app, write_setup):
    """The GitHub target's screen: one credential added (the main branch), a second typed (an environment)."""
    form = {"repository": "contoso/infra", "entity": "environment", "value": "production"}
    path = write_setup("snap", screen="details", target={"kind": "github", "repository": "contoso/infra"},
                       answers={"details": {"entries": [{"branch": "main"}], "form": form}})

    async def run_before(pilot):
        from screens.target_github import GithubScreen
        app = pilot.app
        await wait_for(pilot, lambda: app.services.session is not None)
        app.services.draft = Draft.open(path)
        await app.switch_screen(GithubScreen(app.services))
        await reach(pilot, "GithubScreen")
        await wait_for(pilot, lambda: app.screen.ready)
    assert snap_compare(snap_app(), run_before=run_before)


def test_grants(snap_compare, snap_app, write_setup):
    """userflyterole's grants: one in the list; a container chosen, its roles least privilege first, Storage
    Blob Data Contributor picked with what it allows."""
    path = write_setup("snap", screen="grants", identity={"name": "userflyterole", "existing": True},
                       target={"kind": "none"}, answers={"grants": {"entries": [
                           {"role": "AcrPull", "scope": "resourceGroups/rg-platform/providers/Microsoft."
                            "ContainerRegistry/registries/acrcontoso", "note": "task images"}]}})

    async def run_before(pilot):
        from textual.widgets import Select

        from screens.grants import GrantsScreen
        app = pilot.app
        await wait_for(pilot, lambda: app.services.session is not None)
        app.services.draft = Draft.open(path)
        await app.switch_screen(GrantsScreen(app.services, scopes=SCOPES))
        await reach(pilot, "GrantsScreen")
        await pilot.press("down")  # the container "raw"
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.screen.scope is not None)
        app.screen.query_one("#role", Select).value = "Storage Blob Data Contributor"
        await wait_for(pilot, lambda: "Read, write" in str(app.screen.query_one("#role-note").render()))
        app.screen.query_one("#status").scroll_visible(animate=False)
        await pilot.pause()
    assert snap_compare(snap_app(), run_before=run_before)
