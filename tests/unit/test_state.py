"""The resumable state file: atomic writes, refusal of files it must not touch, conflicts and the lock."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys

import pytest

from wizard import state as st
from wizard.state import (
    FORMAT_VERSION,
    LOG_LIMIT,
    State,
    StateConflict,
    StateError,
    StateLocked,
    StateNotFound,
    StepRecord,
)
from wizard.state_store import StateStore, list_setups

SPEC = {"name": "demo", "resource_group": "rg-demo", "target": {"kind": "aci", "container_group": "cg-demo"}}


@pytest.fixture
def store(tmp_path) -> StateStore:
    return StateStore(tmp_path / "setups" / "demo.json")


def _leftovers(directory) -> list[str]:
    return [p.name for p in directory.iterdir() if p.name.endswith(".tmp")]


# -- writing ------------------------------------------------------------------------------------------------

def test_create_writes_a_private_file_atomically(store):
    state = store.create("demo", SPEC)
    assert state.serial == 1 and state.version == FORMAT_VERSION
    assert stat.S_IMODE(store.path.stat().st_mode) == 0o600
    assert stat.S_IMODE(store.path.parent.stat().st_mode) == 0o700
    assert _leftovers(store.path.parent) == []
    on_disk = json.loads(store.path.read_text())
    assert on_disk["serial"] == 1 and on_disk["spec"] == SPEC and on_disk["lineage"] == state.lineage


def test_save_increments_serial_and_round_trips(store):
    state = store.create("demo", SPEC)
    rec = state.step("vault")
    rec.update(status="waiting", action="create", reason="not found",
               lro={"operation": "vault.create", "token": "abc"})
    state.step("identity").update(status="done", action="adopt", outputs={"principal_id": "p1"})
    state.ui = {"screen": "vault", "answers": {"vault": "kv-demo"}}
    store.save(state)
    store.save(state)
    assert state.serial == 3
    loaded = store.load()
    assert loaded.serial == 3
    assert loaded.to_dict() == state.to_dict()
    assert loaded.steps["vault"].lro == {"operation": "vault.create", "token": "abc"}
    assert stat.S_IMODE(store.path.stat().st_mode) == 0o600
    assert _leftovers(store.path.parent) == []


def test_failed_write_leaves_the_old_file_and_no_temp(store, monkeypatch):
    state = store.create("demo", SPEC)
    before = store.path.read_bytes()
    state.step("vault").update(status="done")

    def broken_replace(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(st.os, "replace", broken_replace)
    with pytest.raises(OSError):
        store.save(state)
    assert store.path.read_bytes() == before
    assert _leftovers(store.path.parent) == []
    assert state.serial == 1  # not advanced: the next save must still match the file on disk
    monkeypatch.undo()
    store.save(state)
    assert store.load().serial == 2


def test_create_refuses_to_overwrite(store):
    store.create("demo", SPEC)
    before = store.path.read_bytes()
    with pytest.raises(StateError, match="already exists"):
        StateStore(store.path).create("other", {})
    assert store.path.read_bytes() == before


def test_load_missing_file(store):
    assert not store.exists()
    with pytest.raises(StateNotFound, match="no setup state"):
        store.load()


# -- files it must not touch --------------------------------------------------------------------------------

def _refused_and_untouched(store, content: bytes, match: str) -> None:
    store.path.parent.mkdir(parents=True, exist_ok=True)
    store.path.write_bytes(content)
    with pytest.raises(StateError, match=match) as info:
        store.load()
    other = State(name="demo", spec=SPEC)
    with pytest.raises(StateError):
        store.save(other)
    with pytest.raises(StateError):
        store.create("demo", SPEC)
    assert store.path.read_bytes() == content
    assert _leftovers(store.path.parent) == []
    assert "left untouched" in str(info.value)


def test_corrupt_json_is_refused_and_left_byte_for_byte(store):
    _refused_and_untouched(store, b'{\n  "version": 1,\n  "serial": 1 oops\n}', r"not valid JSON at line 3")


def test_newer_format_is_refused_and_left_byte_for_byte(store):
    newer = State(name="demo").to_dict() | {"version": FORMAT_VERSION + 1, "hologram": True}
    content = json.dumps(newer).encode()
    _refused_and_untouched(store, content, rf"newer mi-wizard \(format {FORMAT_VERSION + 1}; this one reads "
                                           rf"{FORMAT_VERSION}\)\. Upgrade mi-wizard: pip install -U mi-wizard")


@pytest.mark.parametrize("mutate, match", [
    (lambda d: d.pop("lineage"), "'lineage' is missing"),
    (lambda d: d.update(steps=[]), "'steps' should be an object"),
    (lambda d: d.update(serial="7"), "'serial' should be a whole number"),
    (lambda d: d["steps"].update(vault={"status": "exploded"}), "steps.vault.status is 'exploded'"),
    (lambda d: d.update(version=0), "format version is 0"),
])
def test_wrong_shape_is_refused_and_left_byte_for_byte(store, mutate, match):
    data = State(name="demo").to_dict()
    data["steps"] = {"vault": StepRecord().to_dict()}
    mutate(data)
    _refused_and_untouched(store, json.dumps(data).encode(), match)


def test_not_utf8_is_refused(store):
    _refused_and_untouched(store, b"\xff\xfe{}", "not UTF-8")


# -- concurrent writers -------------------------------------------------------------------------------------

def test_stale_save_is_refused_with_conflict(store):
    store.create("demo", SPEC)
    first, second = store.load(), StateStore(store.path).load()
    first.step("identity").update(status="done")
    store.save(first)
    kept = store.path.read_bytes()
    second.step("vault").update(status="failed")
    with pytest.raises(StateConflict, match="saved by another mi-wizard"):
        StateStore(store.path).save(second)
    assert store.path.read_bytes() == kept
    assert second.serial == 1


def test_save_refuses_a_file_of_another_setup(store):
    old = store.create("demo", SPEC)
    store.delete()
    store.create("demo", SPEC)
    kept = store.path.read_bytes()
    with pytest.raises(StateConflict, match="another setup"):
        store.save(old)
    assert store.path.read_bytes() == kept


def test_lock_held_by_another_store_in_this_process(store):
    other = StateStore(store.path)
    with store.lock():
        with pytest.raises(StateLocked, match=rf"pid {os.getpid()}\).*setup demo\. Wait for it"):
            with other.lock():
                pass
        with store.lock():  # re-entrant for the holder
            pass
        with pytest.raises(StateLocked):  # still held after the inner exit
            with other.lock():
                pass
    with other.lock():  # released
        pass


CHILD = """
import sys
from wizard.state_store import StateStore
with StateStore(sys.argv[1]).lock():
    print("locked", flush=True)
    sys.stdin.readline()
"""


def test_lock_held_by_another_process(store):
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(store.path)], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "locked"
        with pytest.raises(StateLocked, match=rf"pid {child.pid}\)"):
            with store.lock():
                pass
    finally:
        child.stdin.close()
        child.wait(timeout=10)
    with store.lock():  # the child exited, the lock went with it
        assert store.lock_path.read_text().strip() == str(os.getpid())


# -- the model ----------------------------------------------------------------------------------------------

def test_step_progress_and_log_cap():
    state = State(name="demo")
    assert state.progress() == (0, 0)
    assert state.step("identity").status == "pending"
    assert state.step("identity") is state.step("identity")
    state.step("vault").update(status="done")
    state.step("grant").update(status="skipped")
    state.step("secret").update(status="failed", error={"code": "Forbidden", "message": "m", "fix": "f"})
    assert state.progress() == (2, 4)
    for i in range(LOG_LIMIT + 5):
        state.add_log(f"event {i}")
    assert len(state.log) == LOG_LIMIT
    assert state.log[0].endswith("event 5") and state.log[-1].endswith(f"event {LOG_LIMIT + 4}")


def test_step_update_checks_before_changing():
    rec = StepRecord(status="running", action="create")
    with pytest.raises(ValueError, match="status"):
        rec.update(status="finished")
    with pytest.raises(TypeError):
        rec.update(colour="red")
    assert (rec.status, rec.action) == ("running", "create")


# -- where setups live --------------------------------------------------------------------------------------

def test_default_dir_and_for_setup(tmp_path, monkeypatch):
    monkeypatch.setenv("MI_WIZARD_STATE_DIR", str(tmp_path / "x"))
    assert st.default_dir() == tmp_path / "x"
    assert StateStore.for_setup("prefect-aci").path == tmp_path / "x" / "prefect-aci.json"
    monkeypatch.delenv("MI_WIZARD_STATE_DIR")
    assert st.default_dir().parts[-2:] == ("mi-wizard", "setups")
    for bad in ("", "../etc/passwd", ".hidden", "a/b", "x" * 65):
        with pytest.raises(ValueError, match="Setup names are"):
            StateStore.for_setup(bad)


def test_list_setups_reports_broken_files_instead_of_raising(tmp_path):
    d = tmp_path / "setups"
    a = StateStore(d / "alpha.json").create("alpha", SPEC)
    a.step("identity").update(status="done")
    a.step("vault")
    StateStore(d / "alpha.json").save(a)
    StateStore(d / "beta.json").create("beta", {"target": {"kind": "none"}})
    (d / "broken.json").write_text("{nope")
    (d / ".alpha.json.123.tmp").write_text("{}")
    (d / "alpha.json.lock").write_text("1")
    summaries = list_setups(d)
    assert [s.name for s in summaries] == ["alpha", "beta", "broken"]
    alpha, beta, broken = summaries
    # Progress counts the steps the spec needs (resource group, identity, container group): the vault record is
    # not one of them. Nothing planned yet: no count ("-", not "0/0"); a spec without a target says so.
    assert (alpha.progress, alpha.target, alpha.broken) == ("1/3", "ACI cg-demo", None)
    assert alpha.updated == a.updated and alpha.path == d / "alpha.json"
    assert (beta.progress, beta.target, beta.broken) == ("-", "none", None)
    assert "not valid JSON" in broken.broken and broken.progress == ""
    assert list_setups(tmp_path / "nowhere") == []


def test_a_format_1_state_is_read_with_its_target_step_named_by_kind(tmp_path):
    import json
    path = tmp_path / "old.json"
    store = StateStore(path)
    state = store.create("old", {"name": "old", "target": {"kind": "batch", "pool": "p"}})
    data = state.to_dict()
    data["version"] = 1
    data["steps"] = {"identity": {"status": "done"}, "target": {"status": "done", "outputs": {"id": "/x/pool"}}}
    path.write_text(json.dumps(data))
    loaded = store.load()
    assert loaded.version == FORMAT_VERSION and "target" not in loaded.steps
    assert loaded.step("batch").outputs == {"id": "/x/pool"}
    store.save(loaded)
    assert json.loads(path.read_text())["version"] == FORMAT_VERSION


def test_a_format_2_state_with_federations_is_read_as_its_aks_or_github_target(tmp_path):
    import json
    path = tmp_path / "old.json"
    store = StateStore(path)
    spec = {"name": "old", "target": {"kind": "none"},
            "federation": [{"kind": "github", "repository": "o/r", "branch": "main"}]}
    data = store.create("old", {"name": "old"}).to_dict()
    data.update(version=2, spec=spec, steps={"identity": {"status": "done"}, "federation": {
        "status": "done", "outputs": {"credentials": [{"kind": "github", "subject": "repo:o/r:ref:refs/heads/main"}]}}})
    path.write_text(json.dumps(data))
    loaded = store.load()
    assert loaded.version == FORMAT_VERSION and "federation" not in loaded.steps and "federation" not in loaded.spec
    assert loaded.spec["target"] == {"kind": "github", "repository": "o/r", "credentials": [{"branch": "main"}]}
    assert loaded.step("github").outputs["credentials"][0]["subject"] == "repo:o/r:ref:refs/heads/main"


def test_a_temp_file_left_by_a_killed_writer_is_removed_when_the_setup_is_next_locked(tmp_path):
    import os
    import time

    from wizard.state_store import STALE_TEMP_S
    store = StateStore(tmp_path / "setup.json")
    store.create("setup", {"name": "setup"})
    stale, fresh = tmp_path / ".setup.json.abc123.tmp", tmp_path / ".setup.json.def456.tmp"
    other = tmp_path / ".other.json.abc123.tmp"
    for path in (stale, fresh, other):
        path.write_text("{")
    old = time.time() - STALE_TEMP_S - 5
    for path in (stale, other):
        os.utime(path, (old, old))
    with store.lock():
        pass
    assert not stale.exists()  # this setup's, older than any write takes
    assert fresh.exists() and other.exists()  # a write that may be in flight; another setup's file
