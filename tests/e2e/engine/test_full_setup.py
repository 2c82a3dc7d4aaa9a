"""A full ACI setup through the engine, on the sandbox with the real SDK: from an empty group to a passing
live probe; a second apply writes nothing; the secret value goes nowhere it should not."""

from __future__ import annotations

import logging
import os
import threading
from collections import Counter
from pathlib import Path

from wizard.engine import verify_setup
from wizard.progress import CheckResult, OperationStarted, StepFinished

from .conftest import SECRET_VALUE, assert_secret_nowhere, build_spec


class ArgvWatch:
    """Scans every process's argument list while a run is going on, looking for the secret value."""

    def __init__(self, needle: str):
        self.needle, self.hits, self.scans = needle.encode(), [], 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.02):
            self.scans += 1
            for entry in Path("/proc").iterdir():
                try:
                    if entry.name.isdigit() and self.needle in (entry / "cmdline").read_bytes():
                        self.hits.append(entry.name)
                except OSError:
                    continue

    def __enter__(self) -> ArgvWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def test_full_aci_setup_from_empty_group_to_passing_probe(harness, sandbox, tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    spec = build_spec()
    # The vault's creation is held in progress until the identity is made: the graph, not a list, lets it finish.
    vault_creating = sandbox.realism.hold("lro:keyvault_create")

    def release_once_identity_done(event) -> None:
        # Released once the identity is made and the vault's creation has been seen in progress (on a loaded
        # machine its PUT may come after the identity is done): a list that put the vault first never gets here.
        if isinstance(event, StepFinished) and event.step == "identity":
            threading.Thread(target=lambda: (vault_creating.wait_reached(120), vault_creating.release()),
                             daemon=True).start()
    engine = harness.engine(spec, sink=release_once_identity_done)
    with ArgvWatch(SECRET_VALUE) as watch:
        plan = engine.plan()
        assert not plan.problems, plan.problems
        assert [(i.step, i.action) for i in plan.items] == [
            ("resource_group", "create"), ("identity", "create"), ("vault", "create"),
            ("secret", "create"), ("grant", "create"), ("aci", "create"), ("probe", "check")]
        state = engine.apply(plan)
        report = verify_setup(engine)
    assert report.passed, report.to_dict()
    assert [link.name for link in report.links] == ["identity", "attached", "grant", "secret", "probe"]
    assert report.verdict["ok"] and report.verdict["version"] == state.step("secret").outputs["version"]
    # What the state recorded: ids, never the value.
    assert state.step("identity").outputs["client_id"]
    assert state.step("grant").outputs["role"] == "Key Vault Secrets User"
    assert state.step("grant").outputs["scope"].endswith("/secrets/git-token")
    assert state.step("vault").outputs["access_model"] == "rbac"
    # The probe container group was removed afterwards.
    groups = [g.name for g in harness.clients().aci.container_groups.list_by_resource_group("rg-flows")]
    assert groups == ["cg-flows"]
    # The long vault creation was in flight while the identity was made (the graph, not a list).
    finished = [e.step for e in harness.sinks[0].of(StepFinished)]
    assert finished.index("identity") < finished.index("vault") and vault_creating.reached.is_set()
    assert harness.sinks[0].of(OperationStarted)
    # The secret value: not in the state dir, not in any log record, not in any process's argument list.
    assert_secret_nowhere(harness.state_dir)
    assert SECRET_VALUE not in caplog.text
    assert watch.scans > 0 and watch.hits == []
    assert all(SECRET_VALUE not in repr(e) for e in harness.sinks[0].events)


def test_second_apply_of_same_spec_writes_nothing(harness, sandbox):
    spec = build_spec()
    first = harness.engine(spec)
    first.apply()
    assert verify_setup(first).passed
    mark = len(sandbox.calls)
    second = harness.engine(spec)
    plan = second.plan()
    assert {i.action for i in plan.items} == {"nothing"}, [(i.step, i.action, i.reason) for i in plan.items]
    assert not plan.writes
    second.apply(plan)
    report = verify_setup(second)
    assert report.passed
    assert harness.writes_since(mark) == []
    # Verification reuses what the plan read a moment ago: no resource is read twice.
    reads = Counter(c.path.split("?")[0].lower() for c in sandbox.calls[mark:] if c.plane == "arm" and c.method == "GET")
    assert reads and max(reads.values()) == 1, reads
    assert not [e for e in harness.sinks[-1].of(CheckResult) if e.link == "probe"]


def test_plan_reads_only_and_leaves_no_state_file(harness, sandbox):
    mark = len(sandbox.calls)
    engine = harness.engine(build_spec())
    assert engine.plan().writes
    assert not engine.store.path.exists()
    assert harness.writes_since(mark) == []
