"""A secret name held by a soft-deleted secret, in the wizard: the secret screen says so and offers recover
(default) or purge, the review shows it, and the apply does it; the value never reaches the screen or disk."""

from __future__ import annotations

import pytest
from textual.widgets import RadioButton

from tests.e2e.engine.test_deleted_secret import OLD_VALUE, SECRET, VAULT, vault_with_a_deleted_secret

from .helpers import (
    SECRET_VALUE,
    assert_secret_nowhere,
    new_draft,
    on,
    open_at,
    reach,
    screen_text,
    type_text,
    wait_for,
)

pytestmark = pytest.mark.timeout(90)


async def _to_review(pilot, app, *, purge: bool) -> str:
    """On the secret screen: see the deleted secret, choose, type the value; then on to the review."""
    await wait_for(pilot, lambda: "held by a deleted secret" in screen_text(app), what="the deleted secret")
    assert "Recover the deleted secret" in screen_text(app) and app.screen.can_advance
    if purge:
        list(app.screen.query_one("#deleted").query(RadioButton))[1].value = True
        await wait_for(pilot, lambda: not app.screen.can_advance, what="purge to ask for a value")
        assert "needs a value" in screen_text(app)
    await type_text(pilot, "#value", SECRET_VALUE)
    await wait_for(pilot, lambda: app.screen.can_advance, what="the value")
    assert SECRET_VALUE not in screen_text(app)
    while not on(app, "ReviewScreen"):  # the screens between (with their defaults) depend on the target
        here = app.screen
        await pilot.press("ctrl+n")
        await wait_for(pilot, lambda here=here: app.screen is not here and app.screen.is_mounted,
                       what="the next screen")
    await reach(pilot, "ReviewScreen")
    return screen_text(app)


@pytest.mark.parametrize("purge", [False, True], ids=["recover", "purge"])
async def test_a_deleted_secret_is_recovered_or_purged_from_the_wizard(make, state_dir, sandbox, az, purge):
    vault_uri = vault_with_a_deleted_secret(az, sandbox)
    path = new_draft(state_dir, "deleted-secret", at="secret", subscription=sandbox.subscription_ids[0],
                     vault={"name": VAULT}, secret={"name": SECRET}, target={"kind": "none"})
    app = make()
    async with app.run_test(size=(80, 24)) as pilot:
        await open_at(pilot, path, "SecretScreen", ready=False)
        review = await _to_review(pilot, app, purge=purge)
        assert ("PURGED" if purge else "RECOVER") in review, review
        assert app.services.draft.spec.secret.if_soft_deleted == ("purge" if purge else "recover")
        await pilot.press("ctrl+n")
        await reach(pilot, "ResultScreen", timeout=60)
        assert "Verification passed" in screen_text(app)
        assert SECRET_VALUE not in screen_text(app) and OLD_VALUE not in screen_text(app)
    client = az.secrets(vault_uri)
    assert client.get_secret(SECRET).value == SECRET_VALUE
    old_kept = list(client.list_properties_of_secret_versions(SECRET))
    assert len(old_kept) == (1 if purge else 2)  # a purge destroys the old versions; a recovery keeps them
    assert_secret_nowhere(state_dir)
