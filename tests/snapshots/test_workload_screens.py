"""Snapshots of the workload screens at 80x24: the Batch part of the target screen (an existing pool with nodes,
the scale to 0 and back confirmed), federated credentials, and other access. Built from the demo sandbox's
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
        pilot.app.screen.query_one("#rescale-note").scroll_visible(animate=False)
        await pilot.pause()
    assert snap_compare(snap_app(), run_before=run_before)


def test_federation(snap_compare, snap_app, write_setup):
    """A GitHub credential added; an AKS one typed: the subject and the derived name shown as Entra ID will
    compare them."""
    github = {"kind": "github", "repository": "contoso/infra", "branch": "main"}
    form = {"cluster": "rg-aks-apps/aks-apps", "namespace": "apps", "service_account": "workload-sa"}
    path = write_setup("snap", screen="federation", target={"kind": "none"},
                       answers={"target": {"kind": "aks", "screens": ["federation"]},
                                "federation": {"kind": "aks", "entries": [github], "form": form}})

    async def run_before(pilot):
        from screens.federation import FederationScreen
        app = pilot.app
        await wait_for(pilot, lambda: app.services.session is not None)
        app.services.draft = Draft.open(path)
        await app.switch_screen(FederationScreen(app.services, clusters=[CLUSTER]))
        await reach(pilot, "FederationScreen")
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
