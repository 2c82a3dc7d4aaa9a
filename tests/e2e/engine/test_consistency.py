"""Azure's eventual-consistency cases, waited out by the engine (capped backoff, countdown, stoppable)."""

from __future__ import annotations

import threading

import pytest

from wizard.engine import RunFailed, verify_setup
from wizard.progress import Cancelled, CheckResult, Waiting

from .conftest import build_spec


def test_principal_not_found_after_identity_creation_is_waited_out(harness, sandbox):
    sandbox.realism.principal_not_found_s = 2.0  # wide enough that the first call lands inside it, even on a loaded CI machine
    sandbox.realism.principal_type_skips_window = False
    engine = harness.engine(build_spec(target={"kind": "none"}))
    engine.apply()
    waits = [w for w in harness.sinks[0].of(Waiting) if "PrincipalNotFound" in w.reason]
    assert waits and waits[0].step == "grant"
    assert engine.state.step("grant").status == "done"
    refused = [c for c in sandbox.calls if c.operation == "role_assignment_create" and c.status == 400]
    assert refused, "the sandbox never refused the new principal: the wait was not exercised"


def test_operator_grant_propagation_is_waited_out_before_writing_the_secret(harness, sandbox):
    sandbox.realism.rbac_propagation_s = 2.0  # wide enough that the first call lands inside it, even on a loaded CI machine
    engine = harness.engine(build_spec(target={"kind": "none"}))
    engine.apply()
    waits = [w for w in harness.sinks[0].of(Waiting) if w.step == "secret"]
    assert waits, "the secret write never waited for the operator's new access"
    assert engine.state.step("secret").outputs["version"]
    forbidden = [c for c in sandbox.calls if c.operation == "keyvault_secret_set" and c.status == 403]
    assert forbidden


def test_identity_grant_not_yet_effective_is_told_apart_and_waited_for(harness, sandbox):
    engine = harness.engine(build_spec())
    engine.apply()
    sandbox.realism.rbac_propagation_s = 3.0  # from now on, a grant needs 3 s to reach the data plane
    # Re-grant: delete and let a resume put it back, so the identity's grant is brand new.
    az = harness.clients()
    grant = engine.state.step("grant").outputs
    az.authorization.role_assignments.delete(grant["scope"], grant["assignment_name"])
    again = harness.engine(build_spec())
    again.apply()
    report = verify_setup(again)
    assert report.passed, report.to_dict()
    waits = [w for w in harness.sinks[-1].of(Waiting) if w.step == "verify"]
    assert waits and "take effect" in waits[0].reason


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
    sandbox.realism.rbac_propagation_s = 600.0
    cancel = threading.Event()
    engine = harness.engine(build_spec(target={"kind": "none"}),
                            sink=lambda e: cancel.set() if isinstance(e, Waiting) else None, cancel=cancel)
    with pytest.raises(Cancelled):
        engine.apply()
    assert engine.state.step("secret").status == "waiting"
    assert engine.store.load().step("secret").error["fix"].startswith("Resume")
    sandbox.realism.rbac_propagation_s = 0.0
    resumed = harness.engine(build_spec(target={"kind": "none"}))
    resumed.apply()
    assert resumed.state.step("secret").status == "done"


def test_wait_gives_up_at_its_limit_with_a_clear_error(harness, sandbox):
    sandbox.realism.rbac_propagation_s = 600.0
    engine = harness.engine(build_spec(target={"kind": "none"}, verify={"wait_limit_s": 1.0}))
    with pytest.raises(RunFailed) as err:
        engine.apply()
    assert err.value.code == "StillPropagating" and "resume" in err.value.fix.lower()
    assert engine.store.load().step("secret").status == "failed"
