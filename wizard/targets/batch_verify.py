"""The Batch links of the chain: the pool's identity map ("attached"), its nodes ("nodes") and the probe task.

ARM says which identities a pool has, not which its nodes hold: nodes keep the identities they booted with.
So "nodes" is judged by the probe task (a token refused by the node's IMDS with "Identity not found" on a
pool whose map has the identity means the nodes booted before it was added), or, without a probe, by what
the state recorded when mi-wizard added the identity.
"""

from __future__ import annotations

import shlex
import threading
import time
import uuid
from typing import Any

from azure.core.exceptions import ResourceNotFoundError

from ..progress import Cancelled
from ..verify import Checker, Link

RESCALE_FIX = ("Scale the pool to 0 and back so new nodes boot with the identity: set target.rescale_for_identity "
               "= true and run apply again (the pool has no nodes for a few minutes), or resize it yourself when idle.")


def _parts(pool_id: str) -> tuple[str, str, str, str]:
    """(subscription, group, account, pool) of a pool's id; IndexError for anything else (reported as missing)."""
    from azure.mgmt.core.tools import is_valid_resource_id, parse_resource_id
    where = parse_resource_id(pool_id) if is_valid_resource_id(pool_id) else {}
    if str(where.get("child_type_1", "")).lower() != "pools":
        raise IndexError(pool_id)
    return (str(where["subscription"]), str(where["resource_group"]), str(where["name"]),
            str(where["child_name_1"]))


def check_pool(checker: Checker, identity: Any) -> Any:
    """The "attached" link: the pool exists and its identity map has the identity."""
    try:
        sub, rg, account, name = _parts(checker.target.pool_id)
        pool = checker.clients.for_subscription(sub).batch.pool.get(rg, account, name)
    except (ResourceNotFoundError, IndexError):
        checker.add(Link("attached", False, f"No Batch pool at {checker.target.pool_id}.",
                         "Create it again (resume the setup) or fix the pool id."))
        return None
    ids = {k.lower() for k in ((pool.identity.user_assigned_identities or {}) if pool.identity else {})}
    if identity.id.lower() not in ids:
        checker.add(Link("attached", False, f"Pool {name}'s identity map does not have {identity.name}, so no task "
                                            "on it can get tokens for it.",
                         "Add the identity to the pool (the setup's target step does, keeping the pool's others)."))
        return pool
    others = len(ids) - 1
    checker.add(Link("attached", True, f"Pool {name} carries {identity.name}" + (
        f" and {others} other identit{'ies' if others > 1 else 'y'}: job code must pass its client id "
        f"({identity.client_id})." if others else ".")))
    return pool


def check_nodes_and_probe(checker: Checker, identity: Any, pool: Any, vault: Any, grant_ok: bool, *,
                          probe: bool) -> None:
    from ..live_probe import verdict_link
    name = pool.name
    nodes = (pool.properties.current_dedicated_nodes or 0) + (pool.properties.current_low_priority_nodes or 0)
    if nodes == 0:
        checker.add(Link("nodes", True, f"Pool {name} has no nodes now; the nodes it allocates boot with the identity. "
                                        "The probe task needs a node: verify again once the pool has one."))
        return
    if not probe:
        if checker.target.pool_nodes_stale:
            checker.add(Link("nodes", False, f"Pool {name}'s {nodes} nodes booted before {identity.name} was added to "
                                             "the pool: Azure never updates running nodes, so they cannot get tokens "
                                             "for it.", RESCALE_FIX))
        else:
            checker.add(Link("nodes", True, f"Pool {name} has {nodes} nodes (not probed)."))
        return
    sub, rg, account_name, _ = _parts(checker.target.pool_id)
    account = checker.clients.for_subscription(sub).batch.batch_account.get(rg, account_name)
    verdict, failed = checker.probe_verdict(lambda: run_batch_probe(
        checker.clients, account.account_endpoint, name, identity, vault.properties.vault_uri,
        checker.target.secret_name, cancel=checker.cancel), grant_ok)
    if failed is not None or verdict is None:
        checker.add(Link("nodes", not checker.target.pool_nodes_stale,
                         f"Pool {name} has {nodes} nodes" + (" that booted before the identity was added."
                                                             if checker.target.pool_nodes_stale else "."),
                         RESCALE_FIX if checker.target.pool_nodes_stale else ""))
        if failed is not None:
            checker.add(failed)
        return
    if verdict.get("stage") == "imds" and "identity not found" in str(verdict.get("message", "")).lower():
        checker.add(Link("nodes", False, f"A task on pool {name} could not get a token for {identity.name} "
                                         "(IMDS: Identity not found) although the pool's map has it: the pool's nodes "
                                         "booted before the identity was added, and Azure never updates running "
                                         "nodes.", RESCALE_FIX))
        return
    if verdict.get("stage") == "task":
        checker.add(Link("nodes", True, f"Pool {name} has {nodes} nodes."))
    else:
        checker.add(Link("nodes", True, f"A task on pool {name} got a token for {identity.name} from its node."))
    checker.add(verdict_link(verdict, grant_ok, identity))


PROBE_TIMEOUT_S = 600.0


def batch_probe_command(vault_uri: str, secret_name: str, client_id: str) -> str:
    """A Batch command line (one string, not run under a shell) that runs the probe through /bin/sh."""
    from .. import probe
    return shlex.join(["/bin/sh", "-c", shlex.join(probe.probe_command(vault_uri, secret_name, client_id))])


def run_batch_probe(clients: Any, account_endpoint: str, pool_name: str, identity: Any, vault_uri: str,
                    secret_name: str, *, cancel: threading.Event) -> dict[str, Any]:
    """A one-task job on the pool: the task runs the probe on a node, with the node's identities.

    The job is always deleted afterwards (its task's output with it)."""
    from azure.batch import models as bm

    from .. import probe
    batch = clients.batch_data(account_endpoint)
    job_id = f"mi-wizard-probe-{uuid.uuid4().hex[:12]}"
    batch.create_job(bm.BatchJobCreateOptions(id=job_id, pool_info=bm.BatchPoolInfo(pool_id=pool_name),
                                              all_tasks_complete_mode="terminatejob"))
    try:
        batch.create_task(job_id, bm.BatchTaskCreateOptions(
            id="probe", command_line=batch_probe_command(vault_uri, secret_name, identity.client_id),
            environment_settings=[bm.EnvironmentSetting(name="AZURE_CLIENT_ID", value=identity.client_id)],
            constraints=bm.BatchTaskConstraints(max_task_retry_count=0)))
        deadline = time.monotonic() + PROBE_TIMEOUT_S
        pause = 0.25
        while True:
            task = batch.get_task(job_id, "probe")
            if task.state == "completed":
                break
            if time.monotonic() > deadline:
                return {"ok": False, "stage": "task", "code": "ProbeTimeout",
                        "message": f"the probe task did not finish in time (state {task.state}: no free node?)"}
            if cancel.wait(pause):
                raise Cancelled("stopped while the probe task ran")
            pause = min(pause * 1.5, 5.0)
        output = b"".join(batch.download_task_file(job_id, "probe", "stdout.txt")).decode("utf-8", "replace")
        verdict = probe.parse_verdict(output)
        return verdict or {"ok": False, "stage": "task", "code": "NoVerdict",
                           "message": "the probe printed no verdict (is python3 on the pool's image?)"}
    finally:
        try:
            batch.begin_delete_job(job_id)
        except Exception:  # noqa: BLE001 - never leave the run on a cleanup error
            pass
