"""The apply screen when Azure changed since the review: what changed, nothing done, Continue offered (80x24).

The reviewed plan is the plan the demo sandbox gives now with one decision changed (the resource group was to
be created; it exists): the message names only fixed names, never a random id, and nothing is written to Azure.
"""

from __future__ import annotations

import asyncio
import threading

import pytest

from tests.ui.helpers import SECRET_VALUE, screen_text, wait_for
from wizard.draft import Draft

pytestmark = pytest.mark.timeout(60)


def plan_now(services) -> list[dict]:
    """The plan the apply screen will make (blocking: run it in a thread)."""
    draft = services.draft
    workspace = draft.workspace(services.session, sink=lambda _e: None, cancel=threading.Event(),
                                secret_source=draft.secret_source(services.secret.get))
    return [item.to_dict() for item in workspace.plan().items]


def test_apply_azure_changed_since_review(snap_compare, snap_app, write_setup):
    """Reviewed: create rg-prefect-demo; now it exists: one change listed, every step pending, Continue offered."""
    path = write_setup("snap", screen="apply")

    async def run_before(pilot):
        from screens.apply import ApplyScreen
        from screens.flow import ReviewConfirmed
        app = pilot.app
        await wait_for(pilot, lambda: app.services.session is not None)
        app.services.draft = Draft.open(path)
        app.services.secret.set(SECRET_VALUE)
        reviewed = await asyncio.to_thread(plan_now, app.services)
        group = next(i for i in reviewed if i["step"] == "resource_group")
        assert group["action"] == "adopt", group
        group.update(action="create", reason="rg-prefect-demo does not exist yet; it will be created in eastus.")
        app.services.draft.record_plan(reviewed)
        await app.switch_screen(ApplyScreen(app.services, ReviewConfirmed()))  # as the review's Apply hands it on
        await wait_for(pilot, lambda: app.screen.can_advance and not app.screen.running, what="Continue offered")
        await wait_for(pilot, lambda: "Resource group: create -> adopt" in " ".join(screen_text(app).split()),
                       what="the change on screen")
        await pilot.pause()
    assert snap_compare(snap_app(), run_before=run_before)
