"""`mi-wizard destroy`: remove what a setup created and revert what it changed, as its provenance records.

`plan()` reads everything first (wizard/teardown_plan.py); `run()` carries the plan out under the setup's lock,
wave by wave in reverse dependency order (grants, federated credentials, probe leftovers and the workload's
container group or pool side by side; then the identity and the vault; then the groups), recording each finished
action in the state's `teardown` section, so a run killed at any point resumes where it stopped. Every action is
idempotent (a resource already gone is success). Once everything is done the state forgets the setup's steps and
provenance: the same spec applies again from nothing. The secret value is never read.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from azure.core import MatchConditions
from azure.core.exceptions import ResourceNotFoundError
from azure.mgmt.core.tools import parse_resource_id

from .progress import Cancelled, ProgressSink, StepFailed, StepMessage, StepStarted, null_sink
from .state import now_iso
from .teardown_plan import DELETE, Action, TeardownPlan, build_plan

if TYPE_CHECKING:
    from .azure.clients import AzureClients
    from .session import Session
    from .state import State
    from .state_store import StateStore


class TeardownFailed(Exception):
    """An Azure write failed; the state records what is done, and running destroy again resumes."""

    def __init__(self, key: str, code: str, explanation: str, fix: str):
        super().__init__(f"{key}: {code}: {explanation}")
        self.key, self.code, self.explanation, self.fix = key, code, explanation, fix


def clients_for(session: Session, state: State) -> AzureClients:
    """The setup's subscription, as its state records it."""
    record = state.steps.get("identity")
    identity = state.provenance.get("identity", {}).get("id") or (record.outputs.get("id") if record else "")
    if identity:
        return session.for_subscription(str(parse_resource_id(str(identity))["subscription"]))
    return session.for_subscription(session.resolve_subscription(str(state.spec.get("subscription", ""))))


def plan(clients: AzureClients, state: State, *, purge: bool = False) -> TeardownPlan:
    """What destroy would do (reads only)."""
    return build_plan(clients, state, purge=purge)


@dataclass
class Prepared:
    """A teardown read and planned, for the UI to show before it is confirmed (`prepare`, then `carry_out`)."""

    store: StateStore
    state: State
    clients: AzureClients
    plan: TeardownPlan


def prepare(session: Session, path: Path | str, *, purge: bool = False) -> Prepared:
    """Load the setup's state file and plan its teardown (reads only)."""
    from .state_store import StateStore
    store = StateStore(path)
    state = store.load()
    clients = clients_for(session, state)
    return Prepared(store, state, clients, plan(clients, state, purge=purge))


def carry_out(prepared: Prepared, *, sink: ProgressSink = null_sink, cancel: threading.Event | None = None) -> State:
    """Carry out what `prepare` planned, under the setup's lock; refuses (StateConflict) when another run saved the
    setup since it was planned: the person confirmed that plan, not another one."""
    from .state import StateConflict
    with prepared.store.lock():
        if prepared.store.load().serial != prepared.state.serial:
            raise StateConflict("The setup changed since this teardown was planned; nothing was removed. Plan it "
                                "again.")
        return run(prepared.clients, prepared.store, prepared.state, prepared.plan, sink=sink, cancel=cancel)


def run(clients: AzureClients, store: StateStore, state: State, teardown: TeardownPlan, *,
        sink: ProgressSink = null_sink, cancel: threading.Event | None = None, workers: int = 4) -> State:
    """Carry out `teardown` (made from `state` just before, under the same lock); returns the final state."""
    cancel = cancel or threading.Event()
    guard = threading.RLock()
    with store.lock():
        record = state.teardown
        if record.get("status") != "running":
            state.teardown = record = {"status": "running", "started": now_iso(), "purge": teardown.purge,
                                       "done": []}
            state.add_log("destroy started")
            store.save(state)
        lanes: dict[str, threading.Lock] = {}

        def finish(action: Action) -> None:
            with guard:
                record.setdefault("done", []).append(action.key)
                entry = state.provenance.get(action.key)
                if entry is not None:
                    entry["removed"] = True
                store.save(state)

        def work(action: Action) -> None:
            if cancel.is_set():
                raise Cancelled(f"stopped before {action.title}")
            sink(StepStarted(step=action.key, title=action.title, action=action.do))
            lane = lanes.setdefault(action.id.split("/federatedIdentityCredentials/")[0].lower()
                                    if action.kind == "federated_credential" else action.key, threading.Lock())
            try:
                with lane:  # Azure refuses concurrent writes of one identity's federated credentials
                    _do(clients, action, lambda text: sink(StepMessage(step=action.key, text=text)))
            except (Cancelled, KeyboardInterrupt):
                raise
            except Exception as exc:  # noqa: BLE001 - explained and recorded; a rerun resumes
                from .azure.errors import explain
                info = explain(exc)
                with guard:
                    record["error"] = {"key": action.key, "code": info.code, "message": info.explanation,
                                       "fix": info.fix}
                    store.save(state)
                sink(StepFailed(step=action.key, code=info.code, explanation=info.explanation, fix=info.fix))
                raise TeardownFailed(action.key, info.code, info.explanation, info.fix) from exc
            finish(action)

        for wave in sorted({a.wave for a in teardown.writes}):
            todo = [a for a in teardown.writes if a.wave == wave and a.key not in record.get("done", [])]
            _in_parallel([partial(work, a) for a in todo], workers)
        kept = [a.to_dict() for a in teardown.kept]
        state.steps, state.provenance = {}, {}
        state.teardown = {"status": "done", "started": record.get("started", ""), "finished": now_iso(),
                          "purge": teardown.purge, "kept": kept}
        state.add_log("destroy finished")
        store.save(state)
        return state


def _in_parallel(calls: list[Callable[[], None]], workers: int) -> None:
    if not calls:
        return
    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(calls))), thread_name_prefix="teardown") as pool:
        futures = [pool.submit(call) for call in calls]
        errors = [f.exception() for f in futures]
    first = next((e for e in errors if e is not None), None)
    if first is not None:
        raise first


def _gone_ok(call: Callable[[], Any]) -> None:
    try:
        call()
    except ResourceNotFoundError:
        pass  # already gone: that is what a teardown wants


def _do(clients: AzureClients, action: Action, wrote: Callable[[str], None]) -> None:
    """One action's Azure writes; `wrote` is told after each write (progress, and where a kill may land)."""
    p = {k: str(v) for k, v in parse_resource_id(action.id).items()}
    sub = clients.for_subscription(p["subscription"]) if p.get("subscription") else clients
    kind = action.kind
    if kind == "role_assignment":
        _gone_ok(lambda: sub.authorization.role_assignments.delete_by_id(action.id))
        wrote(f"Removed {action.title}")
    elif kind == "access_policy":
        data = action.data
        tenant = data.get("tenant_id") or sub.keyvault.vaults.get(p["resource_group"], p["name"]).properties.tenant_id
        _gone_ok(lambda: sub.keyvault.vaults.update_access_policy(p["resource_group"], p["name"], "remove", {
            "properties": {"accessPolicies": [{"tenantId": tenant, "objectId": data["object_id"],
                                               "permissions": {"secrets": data["permissions"]}}]}}))
        wrote(f"Removed the access policy it added on vault {p['name']}")
    elif kind == "federated_credential":
        fics = sub.msi.federated_identity_credentials
        if action.do == DELETE:
            _gone_ok(lambda: fics.delete(p["resource_group"], p["name"], p["child_name_1"]))
            wrote(f"Deleted {action.title}")
        else:
            fics.create_or_update(p["resource_group"], p["name"], p["child_name_1"], {"properties": {
                "issuer": action.data["issuer"], "subject": action.data["subject"],
                "audiences": [action.data["audience"]]}})
            wrote(f"Put {action.title} back as it was")
    elif kind in ("container_group", "probe"):
        groups = sub.aci.container_groups
        if action.do == DELETE:
            _gone_ok(lambda: groups.begin_delete(p["resource_group"], p["name"]).result())
            wrote(f"Deleted {action.title}")
        else:
            _revert_container_group(groups, p, action)
            wrote(f"Removed the identity from {action.title}")
    elif kind == "pool":
        if action.do == DELETE:
            _gone_ok(lambda: sub.batch.pool.begin_delete(p["resource_group"], p["name"], p["child_name_1"]).result())
            wrote(f"Deleted {action.title}")
        else:
            _revert_pool(sub, p, action)
            wrote(f"Removed the identity from {action.title}")
    elif kind == "identity":
        _gone_ok(lambda: sub.msi.user_assigned_identities.delete(p["resource_group"], p["name"]))
        wrote(f"Deleted {action.title}")
    elif kind == "vault":
        _gone_ok(lambda: sub.keyvault.vaults.delete(p["resource_group"], p["name"]))
        wrote(f"Deleted {action.title} (soft-deleted)")
        if action.data.get("purge"):
            _gone_ok(lambda: sub.keyvault.vaults.begin_purge_deleted(p["name"], action.data["location"]).result())
            wrote(f"Purged {action.title}")
    elif kind == "resource_group":
        _gone_ok(lambda: sub.resources.resource_groups.begin_delete(p["resource_group"]).result())
        wrote(f"Deleted {action.title}")
    else:  # pragma: no cover - the plan only makes actions for the kinds above
        raise ValueError(f"no teardown for {kind}")


def _revert_container_group(groups: Any, p: dict[str, str], action: Action) -> None:
    from .targets.aci import attached_ids
    from .targets.aci_steps import AciStep
    group = groups.get(p["resource_group"], p["name"])
    attached = attached_ids(group)
    remaining = [i for i in action.data["identities"] if i.lower() in attached]
    if not remaining:
        return  # done already (a resumed run)
    current = group.as_dict()
    for identity_id in remaining:
        desired = AciStep.without_identity(current, identity_id, action.data.get("env_added", []))
        current = desired.as_dict()
    groups.begin_create_or_update(p["resource_group"], p["name"], desired).result()


def _revert_pool(clients: AzureClients, p: dict[str, str], action: Action) -> None:
    from .targets.batch_steps import get_pool, pool_identity_ids
    drop = {i.lower() for i in action.data["identities"]}
    for _ in range(5):
        pool, etag = get_pool(clients, p["resource_group"], p["name"], p["child_name_1"])
        if pool is None:
            return
        ids = pool_identity_ids(pool)
        if not any(i.lower() in drop for i in ids):
            return
        keep: dict[str, dict[str, Any]] = {i: {} for i in ids if i.lower() not in drop}
        body = {"identity": {"type": "UserAssigned", "userAssignedIdentities": keep} if keep else {"type": "None"}}
        from azure.core.exceptions import ResourceModifiedError
        try:
            clients.batch.pool.update(p["resource_group"], p["name"], p["child_name_1"], body, etag=etag,
                                      match_condition=MatchConditions.IfNotModified)
            return
        except ResourceModifiedError:
            continue  # changed meanwhile: read it again, never overwrite
    raise RuntimeError(f"pool {p['child_name_1']} changed under every update attempt; run destroy again")
