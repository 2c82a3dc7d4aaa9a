"""The Batch links of the chain: the pool's identity map ("attached"), its nodes ("nodes") and the probe task.

ARM says which identities a pool has, not which its nodes hold: nodes keep the identities they booted with.
So "nodes" is judged by the probe task (a token refused by the node's IMDS with "Identity not found" on a
pool whose map has the identity means the nodes booted before it was added), or, without a probe, by what
the state recorded when mi-wizard added the identity.
"""

from __future__ import annotations

from typing import Any

from azure.core.exceptions import ResourceNotFoundError

from .verify import Checker, Link

RESCALE_FIX = ("Scale the pool to 0 and back so new nodes boot with the identity: set target.rescale_for_identity "
               "= true and run apply again (the pool has no nodes for a few minutes), or resize it yourself when idle.")


def _parts(pool_id: str) -> tuple[str, str, str, str]:
    parts = pool_id.strip("/").split("/")
    return parts[1], parts[3], parts[7], parts[9]


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
    from .live_probe import run_batch_probe, verdict_link
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
    if failed is not None:
        checker.add(Link("nodes", not checker.target.pool_nodes_stale,
                         f"Pool {name} has {nodes} nodes" + (" that booted before the identity was added."
                                                             if checker.target.pool_nodes_stale else "."),
                         RESCALE_FIX if checker.target.pool_nodes_stale else ""))
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
