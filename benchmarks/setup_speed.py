"""How close a full setup gets to the waits Azure imposes, and how many ARM calls it makes.

Runs the examples/prefect-aci.toml setup (identity, RBAC vault, operator access, secret, grant, ACI, live
probe) against the sandbox with the `azure-typical` latency profile (shared/latency/azure-typical.toml,
bundled as wizard/sandbox/data/azure-typical.toml). Every call takes its profile median, scaled by
--scale (0.05 by default so the run is short; ratios do not depend on the scale).

The floor is the sum of the waits that cannot be avoided on the setup's critical path, each at its median:
    resource group create
  + max(identity create, vault create until Succeeded)      (they run at the same time)
  + role assignment create (your Secrets Officer)
  + Key Vault RBAC propagation (before the secret can be written)
  + secret set
  + role assignment create (the identity's Secrets User)
  + ACI create until running (the workload)
  + ACI create until running (the probe; the identity's grant propagates meanwhile: 30 s < 40 s)
  + ACI delete (the probe is removed)
Everything else (reads, polling granularity, backoff overshoot) is the tool's overhead, so
ratio = measured / floor; 1.00 would be perfect. ARM calls are counted by the sandbox.

Usage: python benchmarks/setup_speed.py [--scale 0.05]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

FLOOR_TERMS = ["resource_group_create", ("managed_identity_create", "keyvault_create_until_succeeded"),
               "role_assignment_create", "keyvault_rbac_propagation", "keyvault_secret_set", "role_assignment_create",
               "aci_create_until_running", "aci_create_until_running", "aci_delete"]


def floor_seconds(profile: dict, scale: float) -> float:
    total = 0.0
    for term in FLOOR_TERMS:
        total += max(profile[t][0] for t in term) if isinstance(term, tuple) else profile[term][0]
    return total * scale


def run(scale: float) -> dict:
    from wizard.azure.clients import AzureClients, make_credential
    from wizard.azure.principal import signed_in_principal
    from wizard.azure.profiles import sandbox_profile
    from wizard.engine import Engine, verify_setup
    from wizard.sandbox import Realism, running_sandbox
    from wizard.secrets import in_memory
    from wizard.spec import load_spec
    from wizard.state import StateStore

    realism = Realism.from_options(latency=f"azure-typical:{scale}")
    with tempfile.TemporaryDirectory() as tmp, running_sandbox(Path(tmp) / "sb", realism=realism) as sandbox:
        profile = sandbox_profile(sandbox.descriptor())
        credential = make_credential(profile)
        clients = AzureClients(profile, credential, sandbox.subscription_ids[0])
        operator = signed_in_principal(credential, profile.arm_scope)
        spec = load_spec(ROOT / "examples" / "prefect-aci.toml")

        def engine() -> Engine:
            return Engine(spec, clients, StateStore(Path(tmp) / "state.json"), operator=operator,
                          cancel=threading.Event(), secret_source=in_memory(lambda: "benchmark-secret"))

        first_calls = len(sandbox.calls)
        started = time.monotonic()
        setup = engine()
        setup.apply()
        report = verify_setup(setup)
        elapsed = time.monotonic() - started
        setup_arm = len([c for c in sandbox.calls[first_calls:] if c.plane == "arm"])
        assert report.passed, report.to_dict()

        mark = len(sandbox.calls)
        started = time.monotonic()
        again = engine()
        again.apply()
        verify_setup(again)
        rerun_elapsed = time.monotonic() - started
        rerun = sandbox.calls[mark:]
        return {"elapsed": elapsed, "floor": floor_seconds(realism.latency_profile, scale), "setup_arm": setup_arm,
                "rerun_arm": len([c for c in rerun if c.plane == "arm"]),
                "rerun_writes": len([c for c in rerun if c.method not in ("GET", "HEAD") and c.plane in ("arm", "vault")
                                     and not c.path.lower().endswith("checknameavailability")]),
                "rerun_elapsed": rerun_elapsed}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=float, default=0.05)
    args = parser.parse_args()
    r = run(args.scale)
    print(f"full setup: {r['elapsed']:.2f} s, floor {r['floor']:.2f} s -> ratio {r['elapsed'] / r['floor']:.2f}x "
          f"(scale {args.scale}; at full Azure latency the floor is {r['floor'] / args.scale:.0f} s)")
    print(f"ARM calls: setup {r['setup_arm']}, no-op re-run {r['rerun_arm']} (writes on re-run: {r['rerun_writes']}); "
          f"re-run took {r['rerun_elapsed'] / r['floor']:.2f}x the setup floor")


if __name__ == "__main__":
    main()
