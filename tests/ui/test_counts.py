"""Honest counts and results: the step counter never changes its total mid-flow, the setups list shows the
progress, the position and the target as they are (a draft, a setup the CLI applied, a stale step record), the
apply screen counts as the list does, and an AKS result says what was proven and what was not."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from wizard.azure.clients import make_credential
from wizard.draft import Draft
from wizard.secrets import in_memory
from wizard.session import Session
from wizard.spec import load_spec
from wizard.state_store import StateStore
from wizard.workspace import Workspace

from .helpers import (
    SECRET_VALUE,
    new_draft,
    on,
    reach,
    screen_text,
    start_new,
    through_to_vault,
    type_text,
    wait_for,
)
from .test_workloads import open_target, pick

pytestmark = pytest.mark.timeout(90)
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def counter(app) -> str:
    return app.screen.sub_title.rsplit("· ", 1)[-1]


async def forward(pilot, screen: str, **kwargs) -> str:
    await pilot.press("ctrl+n")
    await reach(pilot, screen, **kwargs)
    return counter(pilot.app)


async def test_the_step_counter_shows_a_total_only_once_the_target_is_chosen(make, state_dir, sandbox):
    app = make()
    async with app.run_test(size=(80, 24)) as pilot:
        await start_new(pilot, "counted")
        seen = [counter(app)]  # sign-in
        await through_to_vault(pilot)  # subscription, group and identity on the way
        seen.append(counter(app))
        await wait_for(pilot, lambda: app.screen.can_advance, what="the vault check")
        seen.append(await forward(pilot, "SecretScreen"))
        await type_text(pilot, "#value", SECRET_VALUE)
        seen += [await forward(pilot, "PermissionsScreen"), await forward(pilot, "TargetScreen")]
        # Which screens follow depends on the target: no total yet, and none of them changes later.
        assert seen == ["step 1", "step 5", "step 6", "step 7", "step 8"]
        assert await forward(pilot, "ReviewScreen", ready=False) == "step 9 of 11"  # ACI: no other-access screen
        await pilot.press("escape")
        await reach(pilot, "TargetScreen")
        assert counter(app) == "step 8 of 11"  # chosen now: its total is known

    app = make()
    async with app.run_test(size=(80, 24)) as pilot:
        await open_target(pilot, state_dir, sandbox, "counted-aks", "rg-aks-apps", "westus2")
        assert counter(app) == "step 8"
        pick(app, "#kind", "aks")
        await wait_for(pilot, lambda: "federated credential" in screen_text(app))
        assert await forward(pilot, "AksScreen", ready=False) == "step 9 of 13"
        await type_text(pilot, "#service-account", "workload-sa")
        await wait_for(pilot, lambda: app.screen.can_advance, what="a complete credential")
        assert await forward(pilot, "GrantsScreen") == "step 10 of 13"
        assert await forward(pilot, "ReviewScreen", ready=False) == "step 11 of 13"
        assert "counted-aks · step 11 of 13" in screen_text(app)


def row_of(app, name: str) -> list[str]:
    """The setups list's row of `name` as shown, split into its columns."""
    line = next(line for line in screen_text(app).splitlines() if line.strip().startswith(name + " "))
    return [cell.strip() for cell in line.strip().split("  ") if cell.strip()]


def apply_from_the_cli(profile, state_dir: Path, example: str) -> StateStore:
    """A setup made as `mi-wizard apply SPEC` makes it: a Workspace, no screen ever recorded."""
    store = StateStore.for_setup(example, state_dir)
    workspace = Workspace(Session(profile, make_credential(profile)), load_spec(EXAMPLES / f"{example}.toml"), store,
                          secret_source=in_memory(lambda: SECRET_VALUE))
    applied = workspace.apply(workspace.plan())
    assert applied.report is not None and applied.report.passed
    return store


async def test_the_setups_list_shows_progress_position_and_target_as_they_are(make, state_dir, sandbox, profile):
    store = apply_from_the_cli(profile, state_dir, "aks-workload-identity")
    state = store.load()
    needed = len([s for s in state.steps if s != "verify"])
    state.step("target").update(status="failed")  # a record an older run left: not a step of this setup
    store.save(state)
    Draft.start("fresh", directory=state_dir, cloud="sandbox")
    # At the target screen with Batch picked but not confirmed: the spec still holds the default container group.
    typed = Draft.open(new_draft(state_dir, "typed-batch", at="target", subscription=sandbox.subscription_ids[0]))
    typed.record(screen="target", answers={"kind": "batch_new"})
    chosen = Draft.open(new_draft(state_dir, "chosen-batch", at="grants", subscription=sandbox.subscription_ids[0]))
    chosen.record(screen="target", spec={"target": {"kind": "batch", "account": "contosobatch", "pool": "pool-secure"}})

    app = make()
    async with app.run_test(size=(110, 30)) as pilot:
        await wait_for(pilot, lambda: len(app.screen.setups) == 4, what="the setups listed")
        await pilot.pause()
        cli = row_of(app, "aks-workload-identity")
        assert (cli[1], cli[2], cli[-1]) == (f"{needed}/{needed}", "Result", "AKS aks-apps")
        fresh = row_of(app, "fresh")
        assert (fresh[1], fresh[2], fresh[-1]) == ("-", "Sign in", "not chosen yet")
        assert row_of(app, "typed-batch")[-1] == "not chosen yet"  # never the default's "ACI cg-typed-batch"
        assert row_of(app, "chosen-batch")[-1] == "Batch pool-secure"
        # Resumed, the setup the CLI applied opens at its result, which says what its verification proved.
        table = app.screen.query_one("#setups")
        table.move_cursor(row=[s.name for s in app.screen.setups].index("aks-workload-identity"))
        await pilot.press("r")
        await reach(pilot, "ResultScreen")
        shown = " ".join(screen_text(app).split())
        assert "Verification passed: every link is in place." in shown
        assert "the federated credential's issuer, subject and audience match" in shown
        assert "the identity holds read access to the secret" in shown
        assert "Not proven: a pod actually reading the secret" in shown
        assert "can read the secret" not in shown


async def test_the_apply_screen_counts_the_steps_the_list_counts(make, state_dir, sandbox, profile):
    path = new_draft(state_dir, "halfway", at="review", subscription=sandbox.subscription_ids[0])
    draft = Draft.open(path)
    workspace = draft.workspace(Session(profile, make_credential(profile)), sink=lambda _e: None,
                                cancel=threading.Event(), secret_source=None)
    draft.record_plan([item.to_dict() for item in workspace.plan().items])
    store = StateStore(path)
    state = store.load()
    for step_id in ("resource_group", "identity"):  # as the engine records them before it was stopped
        state.step(step_id).update(status="done", action="create")
    state.step("vault").update(status="failed", action="create")
    store.save(state)
    draft.record(at="apply")
    total = len(draft.planned())

    app = make()
    async with app.run_test(size=(110, 30)) as pilot:
        await wait_for(pilot, lambda: len(app.screen.setups) == 1, what="the setup listed")
        await pilot.pause()
        assert row_of(app, "halfway")[1:3] == [f"2/{total}", "Apply"]
        await pilot.press("r")
        await reach(pilot, "ApplyScreen")
        assert f"2 of {total} steps done" in " ".join(screen_text(app).split())
        assert on(app, "ApplyScreen")
