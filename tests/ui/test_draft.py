"""wizard.draft and wizard.catalog, the non-Textual code the screens call: choices saved as they are made,
and the read queries answered from the sandbox."""

from __future__ import annotations

import pytest

from wizard import catalog
from wizard.azure import names
from wizard.azure.clients import make_credential
from wizard.draft import Draft, suggested_names, summaries
from wizard.session import Session
from wizard.spec import SpecError
from wizard.state import StateError
from wizard.state_store import StateStore

EXAMPLE = "examples/prefect-aci.toml"


def test_a_new_setup_stands_at_sign_in_with_valid_default_names(tmp_path):
    draft = Draft.start("prefect-aci", directory=tmp_path, cloud="sandbox")
    assert (draft.screen, draft.cloud) == ("signin", "sandbox")
    spec = draft.spec
    assert (spec.identity.name, spec.vault.name, spec.target.container_group) == (
        "id-prefect-aci", "kv-prefect-aci", "cg-prefect-aci")
    with pytest.raises(StateError, match="already exists"):
        Draft.start("prefect-aci", directory=tmp_path)


@pytest.mark.parametrize("setup", ["prefect-aci", "My.Setup_1", "123", "x" * 64, "a--b"])
def test_suggested_names_follow_the_azure_rules(setup):
    made = suggested_names(setup)
    assert names.validate_identity_name(made["identity"]) is None
    assert names.validate_vault_name(made["vault"]) is None or setup == "123"  # kv-123 is valid; digits-only too
    assert names.validate_container_group_name(made["container_group"]) is None
    assert names.validate_secret_name(made["secret"]) is None


def test_choices_are_merged_into_the_spec_and_answers_kept_per_screen(tmp_path):
    draft = Draft.start("merge", directory=tmp_path)
    draft.record(screen="vault", answers={"name": "kv-typed"}, spec={"vault": {"name": "kv-typed"}}, at="secret")
    saved = Draft.open(draft.store.path)
    assert saved.screen == "secret" and saved.answers("vault") == {"name": "kv-typed"}
    assert saved.spec.vault.name == "kv-typed" and saved.spec.vault.access_model == "rbac"  # merged, not replaced
    with pytest.raises(SpecError):
        draft.record(spec={"vault": {"colour": "blue"}})
    assert Draft.open(draft.store.path).spec.vault.name == "kv-typed"  # the bad patch changed nothing


def test_recording_after_the_engine_saved_does_not_conflict(tmp_path):
    draft = Draft.start("shared", directory=tmp_path)
    engine_store = StateStore(draft.store.path)  # the engine's own view, saving steps meanwhile
    state = engine_store.load()
    state.step("identity").update(status="done")
    engine_store.save(state)
    draft.record(at="result")
    again = Draft.open(draft.store.path)
    assert again.statuses() == {"identity": "done"} and again.screen == "result"


def test_the_plan_gives_progress_and_drops_steps_no_longer_planned(tmp_path):
    draft = Draft.start("planned", directory=tmp_path)
    assert summaries(tmp_path)[0].progress == "-"
    items = [{"step": s, "title": s.title(), "action": "create"} for s in
             ("resource_group", "identity", "vault", "secret", "grant", "aci", "probe")]
    draft.record_plan(items)
    line = summaries(tmp_path)[0]
    assert (line.progress, line.screen, line.cloud) == ("0/7", "signin", "public")  # the verification is no step
    draft.record_plan(items[:-1])  # the probe was dropped
    assert "probe" not in draft.statuses() and summaries(tmp_path)[0].progress == "0/7"  # the spec still needs it
    assert [p["step"] for p in draft.planned()] == [i["step"] for i in items[:-1]]


def test_a_spec_file_starts_a_setup_at_the_review(tmp_path):
    draft = Draft.from_spec_file(EXAMPLE, directory=tmp_path)
    assert (draft.name, draft.screen, draft.spec.vault.name) == ("prefect-aci", "review", "kv-prefect-flows")


def test_the_secret_source_is_the_file_or_what_was_typed_never_saved(tmp_path):
    draft = Draft.start("secret", directory=tmp_path)
    assert draft.secret_source(None) is None
    assert draft.secret_source(lambda: "typed").read() == "typed"
    value = tmp_path / "token.txt"
    value.write_text("from-a-file\n")
    draft.record(screen="secret", answers={"name": "git-token", "source": "file", "file": str(value)})
    assert draft.secret_source(lambda: "typed").read() == "from-a-file"
    assert b"from-a-file" not in draft.store.path.read_bytes()


@pytest.fixture
def session(profile):
    return Session(profile, make_credential(profile))


def test_vault_names_are_told_apart(session, sandbox):
    sub = sandbox.subscription_ids[0]
    assert catalog.check_vault_name(session, sub, "kv-free-name-1").reason == "ok"
    assert catalog.check_vault_name(session, sub, "kv--x").reason == "invalid"
    taken = catalog.check_vault_name(session, sub, "kv-contoso")
    assert taken.reason == "taken" and len(taken.suggestions) == 3
    deleted = catalog.check_vault_name(session, sub, "kv-prefect-old")
    assert deleted.reason == "soft_deleted" and deleted.deleted["location"] == "eastus"
    here = catalog.check_vault_name(session, sub, "kv-legacy-ap")
    assert here.reason == "exists_here" and here.existing.access_model == "access_policy"


def test_lists_come_page_by_page_as_plain_data(session, sandbox):
    sub = sandbox.subscription_ids[0]
    subs = [s for page in catalog.subscriptions(session) for s in page]
    assert {s.name for s in subs} == {"Contoso Dev", "Contoso Prod"}
    groups = [g.name for page in catalog.resource_groups(session, sub) for g in page]
    assert "rg-prefect-demo" in groups
    assert "eastus" in catalog.locations(session, sub)
    assert [v.name for v in catalog.vaults(session, sub)] == ["kv-legacy-ap"]
    assert "cg-prefect-worker" in [g.name for g in catalog.container_groups(session, sub)]
