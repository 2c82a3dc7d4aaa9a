"""Azure's eventual-consistency cases, waited out by the engine (capped backoff, countdown, stoppable).

Every window is held open by the sandbox (`realism.hold`) and released by the test: no wall-clock window, so a
loaded machine cannot race past it.
"""

from __future__ import annotations

import threading

import pytest

from wizard.engine import RunFailed, verify_setup
from wizard.progress import Cancelled, CheckResult, Waiting

from .conftest import build_spec

DATA_PLANE = {"secret_write": "data_plane"}


def in_thread(call) -> tuple[threading.Thread, list]:
    """Run `call` in a thread; the list receives its result or its exception."""
    out: list = []

    def run() -> None:
        try:
            out.append(call())
        except BaseException as exc:  # noqa: BLE001 - handed to the test
            out.append(exc)
    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, out


def test_principal_not_found_after_identity_creation_is_waited_out(harness, sandbox):
    sandbox.realism.principal_type_skips_window = False
    engine = harness.engine(build_spec(target={"kind": "none"}))
    with sandbox.realism.hold("principal_not_found") as hold:
        thread, out = in_thread(engine.apply)
        assert hold.wait_reached(times=2), "the grant was never refused while the identity was too new"
    thread.join(120)
    assert out and not isinstance(out[0], BaseException), out
    waits = [w for w in harness.sinks[0].of(Waiting) if "PrincipalNotFound" in w.reason]
    assert waits and waits[0].step == "grant"
    assert engine.state.step("grant").status == "done"


def test_data_plane_write_waits_for_the_temporary_grant_and_removes_it(harness, sandbox):
    engine = harness.engine(build_spec(target={"kind": "none"}, vault=DATA_PLANE))
    operator = sandbox.operator()["objectId"]
    with sandbox.realism.hold("rbac_propagation", key=operator) as hold:
        thread, out = in_thread(engine.apply)
        assert hold.wait_reached(times=2), "the secret write never met the operator's not-yet-effective grant"
    thread.join(120)
    assert out and not isinstance(out[0], BaseException), out
    assert [w for w in harness.sinks[0].of(Waiting) if w.step == "secret"]
    assert engine.state.step("secret").outputs["version"]
    # The temporary grant is gone: no standing data access for whoever ran the setup.
    vault = engine.state.step("vault").outputs["id"]
    assert engine.state.step("operator_access").outputs["removed"] is True
    left = [ra for ra in harness.clients().authorization.role_assignments.list_for_scope(
        vault, filter=f"principalId eq '{operator}'") if ra.scope.lower().startswith(vault.lower())]
    assert left == []


def test_identity_grant_not_yet_effective_is_told_apart_and_waited_for(harness, sandbox):
    engine = harness.engine(build_spec())
    engine.apply()
    # Re-grant: delete and let a resume put it back, so the identity's grant is brand new.
    grant = engine.state.step("grant").outputs
    harness.clients().authorization.role_assignments.delete(grant["scope"], grant["assignment_name"])
    again = harness.engine(build_spec())
    with sandbox.realism.hold("rbac_propagation", key=grant["principal_id"]) as hold:
        thread, out = in_thread(lambda: (again.apply(), verify_setup(again))[1])
        assert hold.wait_reached(times=2), "the probe never met the not-yet-effective grant"
    thread.join(120)
    report = out[0]
    assert not isinstance(report, BaseException), report
    assert report.passed, report.to_dict()
    assert report.verdict["ok"] and report.verdict["attempts"] >= 2  # one probe, trying through propagation


def test_missing_grant_is_never_will_and_not_waited_for(harness, sandbox):
    engine = harness.engine(build_spec())
    engine.apply()
    grant = engine.state.step("grant").outputs
    harness.clients().authorization.role_assignments.delete(grant["scope"], grant["assignment_name"])
    report = verify_setup(engine, probe=True)
    assert not report.passed
    assert report.broken.name == "grant" and "Key Vault Secrets User" in report.broken.fix
    probe = [e for e in harness.sinks[0].of(CheckResult) if e.link == "probe"]
    # The live probe confirms it, and says that waiting will not help; nothing is waited for.
    assert len(probe) == 1 and not probe[0].ok and not probe[0].pending and "waiting will not help" in probe[0].detail
    assert not [w for w in harness.sinks[0].of(Waiting) if w.step == "verify"]


def test_a_wait_can_be_stopped_and_the_setup_resumed_later(harness, sandbox):
    cancel = threading.Event()
    spec = build_spec(target={"kind": "none"}, vault=DATA_PLANE)
    engine = harness.engine(spec, sink=lambda e: cancel.set() if isinstance(e, Waiting) else None, cancel=cancel)
    with sandbox.realism.hold("rbac_propagation"):
        with pytest.raises(Cancelled):
            engine.apply()
    assert engine.state.step("secret").status == "waiting"
    assert engine.store.load().step("secret").error["fix"].startswith("Resume")
    resumed = harness.engine(spec)
    resumed.apply()
    assert resumed.state.step("secret").status == "done"


def test_wait_gives_up_at_its_limit_with_a_clear_error(harness, sandbox):
    engine = harness.engine(build_spec(target={"kind": "none"}, vault=DATA_PLANE, verify={"wait_limit_s": 1.0}))
    with sandbox.realism.hold("rbac_propagation"):
        with pytest.raises(RunFailed) as err:
            engine.apply()
    assert err.value.code == "StillPropagating" and "resume" in err.value.fix.lower()
    assert engine.store.load().step("secret").status == "failed"
