"""The engine orders steps by data dependency and waits only for what Azure imposes, proven from the sandbox's
call log while windows are held open (no wall-clock assertions):
- the workload's container group is deployed before the identity's grant has propagated;
- the live probe starts before propagation ends and gives its verdict once it has;
- apply returns without waiting for the probe's deletion, and the next run finishes it;
- independent extra grants are in flight together.
"""

from __future__ import annotations

import threading
import time

from wizard.engine import verify_setup

from .conftest import build_spec
from .test_consistency import in_thread


def test_workload_and_probe_do_not_wait_for_propagation(harness, sandbox):
    engine = harness.engine(build_spec())
    released = threading.Event()
    deployed_while_held: list[bool] = []

    def observe(call) -> None:
        if call.operation == "aci_create" and call.method == "PUT" and call.path.rstrip("/").endswith("/cg-flows"):
            deployed_while_held.append(not released.is_set())
    sandbox.observers.append(observe)
    hold = sandbox.realism.hold("rbac_propagation")
    try:
        thread, out = in_thread(lambda: (engine.apply(), verify_setup(engine))[1])
        # The probe is already asking Key Vault, and being told "not yet", while the grant propagates.
        assert hold.wait_reached(times=1), "the probe never started while the grant was propagating"
        mark = len(sandbox.calls)
        assert not out, "apply finished before the grant took effect: it cannot have proven anything"
    finally:
        released.set()
        hold.release()
        sandbox.observers.remove(observe)
    thread.join(120)
    report = out[0]
    assert not isinstance(report, BaseException), report
    assert deployed_while_held == [True], "the workload waited for propagation (or was not deployed once)"
    assert report.passed, report.to_dict()
    # The verdict came after the release, from the same probe (it kept trying).
    reads_after = [c for c in sandbox.calls[mark:] if c.operation == "keyvault_secret_get" and c.status == 200]
    assert reads_after and report.verdict["ok"] and report.verdict["attempts"] >= 2
    probes = [c for c in sandbox.calls if c.operation == "aci_create" and c.method == "PUT" and "-probe-" in c.path]
    assert len(probes) == 1, "one probe container, not one per check"


def test_apply_does_not_wait_for_the_probe_delete_and_the_next_run_finishes_it(harness, sandbox):
    engine = harness.engine(build_spec())
    with sandbox.realism.hold("lro:aci_delete") as hold:
        engine.apply()  # returns although the probe's group is still being deleted
        assert verify_setup(engine).passed
        cleanup = engine.state.step("probe").outputs["cleanup"]
        assert len(cleanup) == 1 and "-probe-" in cleanup[0]
        names = [g.name for g in harness.clients().aci.container_groups.list_by_resource_group("rg-flows")]
        assert sorted(names) == sorted(["cg-flows", cleanup[0].rsplit("/", 1)[-1]])
        assert not hold.released.is_set()
    again = harness.engine(build_spec())
    again.apply()
    assert again.state.step("probe").outputs["cleanup"] == []
    names = [g.name for g in harness.clients().aci.container_groups.list_by_resource_group("rg-flows")]
    assert names == ["cg-flows"]
    assert again.store.load().step("probe").outputs["cleanup"] == []


def test_twenty_extra_grants_are_in_flight_together(harness, sandbox):
    az = harness.clients()
    base = build_spec(target={"kind": "none"}, verify={"probe": False})
    harness.engine(base).apply()  # the group, identity and vault exist; now 20 grants on its secrets
    vault_id = harness.clients().keyvault.vaults.get("rg-flows", "kv-flows-test").id
    for n in range(20):
        az.keyvault.secrets.create_or_update("rg-flows", "kv-flows-test", f"extra-{n:02d}",
                                             {"properties": {"value": "x"}})
    grants = [{"role": "Key Vault Secrets User", "scope": f"{vault_id}/secrets/extra-{n:02d}"} for n in range(20)]
    spec = build_spec(target={"kind": "none"}, verify={"probe": False}, grant_extra=grants)
    refused: set[str] = set()
    sandbox.realism.principal_type_skips_window = False

    def observe(call) -> None:
        if call.operation == "role_assignment_create" and call.status == 400:
            refused.add(call.path.rsplit("/", 1)[-1])
    sandbox.observers.append(observe)
    # Every assignment is refused (PrincipalNotFound) while held: all 20 are refused before any is let through
    # only if they are in flight together.
    hold = sandbox.realism.hold("principal_not_found", since=0)
    try:
        engine = harness.engine(spec)
        thread, out = in_thread(engine.apply)
        # A bound for failing, not a timing assertion: one at a time, the first grant would be retried alone.
        deadline = time.monotonic() + 60
        while len(refused) < 20 and not out and time.monotonic() < deadline:
            hold.wait_reached(times=hold.times + 1, timeout=5)
        assert len(refused) == 20, f"only {len(refused)} grants were in flight before the first was let through"
    finally:
        hold.release()
        sandbox.observers.remove(observe)
    thread.join(120)
    assert out and not isinstance(out[0], BaseException), out
    assert len(engine.state.step("grants").outputs["grants"]) == 20
