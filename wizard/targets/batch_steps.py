"""Attach the identity to an Azure Batch pool: an existing pool, or a new pool created with it.

Pools take user-assigned identities only, through ARM (the Batch data plane cannot). A PATCH replaces the
pool's identity map, so the full desired map (the pool's identities plus ours) is sent, with If-Match on the
pool's ETag so a concurrent change is never overwritten. Nodes keep the identities they booted with: when
the pool has nodes, they do not get ours until the pool scales to 0 and back (batch_rescale.py).
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import Any

from azure.core import MatchConditions
from azure.core.exceptions import ResourceModifiedError

from ..steps.base import ADOPT, CREATE, NOTHING, UPDATE, PlanItem, RunContext, Step, StepError, not_found_is_none
from ..steps.identity import IdentityOut, IdentityStep, read_identity
from ..waits import WaitExpired, wait_for
from .batch import batch_target

RESIZE_LIMIT_S = 1800.0
"""Azure resizes take minutes (and resizeTimeout defaults to 15 minutes); give up after 30."""
RESIZE_START_GRACE_S = 60.0
"""A Steady pool with other counts than asked is a failed resize only once this has passed without errors."""


def read_account(ctx: RunContext) -> Any:
    t = batch_target(ctx.spec)
    return ctx.read(f"batch:{ctx.spec.target_group.lower()}/{t.account.lower()}", lambda: not_found_is_none(
        lambda: ctx.clients.batch.batch_account.get(ctx.spec.target_group, t.account)))


def get_pool(clients: Any, rg: str, account: str, pool: str) -> tuple[Any, str | None]:
    """The pool and its ETag header ((None, None) when it does not exist)."""
    got = not_found_is_none(lambda: clients.batch.pool.get(
        rg, account, pool, cls=lambda resp, model, _: (model, resp.http_response.headers.get("ETag"))))
    return got if got is not None else (None, None)


def read_pool(ctx: RunContext) -> Any:
    t = batch_target(ctx.spec)
    return ctx.read(f"pool:{ctx.spec.target_group.lower()}/{t.account.lower()}/{t.pool.lower()}",
                    lambda: get_pool(ctx.clients, ctx.spec.target_group, t.account, t.pool)[0])


def pool_identity_ids(pool: Any) -> list[str]:
    identity = getattr(pool, "identity", None)
    return list((identity.user_assigned_identities or {}).keys()) if identity and identity.type != "None" else []


def has_identity(pool: Any, identity_id: str) -> bool:
    return identity_id.lower() in {i.lower() for i in pool_identity_ids(pool)}


def node_counts(pool: Any) -> dict[str, int]:
    props = pool.properties
    return {"dedicated": props.current_dedicated_nodes or 0, "low_priority": props.current_low_priority_nodes or 0}


def wait_steady(ctx: RunContext, step_id: str, what: str, want: dict[str, int] | None = None) -> Any:
    """Poll the pool until its allocation is Steady (with `want` counts, if given); return it."""
    t = batch_target(ctx.spec)
    started = time.monotonic()

    def steady() -> Any:
        pool, _ = get_pool(ctx.clients, ctx.spec.target_group, t.account, t.pool)
        if pool is None:
            raise StepError("PoolNotFound", f"Pool {t.pool} disappeared while {what}.", "Check the pool, then resume.")
        if pool.properties.allocation_state != "Steady":
            raise _NotSteady()
        if want is not None and node_counts(pool) != want:
            errors = getattr(pool.properties.resize_operation_status, "errors", None) or []
            if not errors and time.monotonic() - started < RESIZE_START_GRACE_S:
                raise _NotSteady()  # the resize we asked for may not show as Resizing yet
            raise StepError("ResizeFailed", f"Pool {t.pool} stopped at {node_counts(pool)} nodes instead of {want}"
                            + (f": {errors[0].code}: {errors[0].message}" if errors else "."),
                            "Fix the cause (often the account's core quota), then resume: mi-wizard resizes again.")
        return pool

    try:
        return wait_for(steady, retry_if=lambda e: isinstance(e, _NotSteady), step=step_id, reason=what,
                        sink=ctx.sink, cancel=ctx.cancel, limit_s=RESIZE_LIMIT_S, first_delay_s=0.25, max_delay_s=15.0)
    except WaitExpired:
        raise StepError("ResizeTimeout", f"Pool {t.pool} was still resizing after {RESIZE_LIMIT_S:.0f} s.",
                        "Look at the pool in the portal; resume when it is Steady.") from None


class _NotSteady(Exception):
    pass


def patch_pool(ctx: RunContext, change: Any) -> Any:
    """PATCH with If-Match on a fresh ETag; `change(pool)` returns the body to send or None when done already.
    A concurrent change (412) is re-read and re-applied, never overwritten."""
    t = batch_target(ctx.spec)
    for _ in range(5):
        pool, etag = get_pool(ctx.clients, ctx.spec.target_group, t.account, t.pool)
        wanted = change(pool)
        if wanted is None:
            return pool
        try:
            return ctx.clients.batch.pool.update(ctx.spec.target_group, t.account, t.pool, wanted, etag=etag,
                                                 match_condition=MatchConditions.IfNotModified)
        except ResourceModifiedError:
            ctx.say("batch", f"Pool {t.pool} changed meanwhile; reading it again")
    raise StepError("PoolKeepsChanging", f"Pool {t.pool} changed under every update attempt.",
                    "Something else is updating the pool; let it finish, then resume.")


@dataclass(frozen=True)
class BatchOut:
    account: str
    name: str
    resource_group: str
    id: str
    created: bool = False
    """mi-wizard created the pool (with the identity)."""
    attached_at: float | None = None
    nodes_at_attach: dict[str, int] | None = None
    """The pool's node counts when the identity was added: those nodes booted without it."""
    nodes_without_identity: bool | None = None


@dataclass(frozen=True)
class BatchSeen:
    account: Any
    pool: Any
    """The SDK's BatchAccount and Pool, or None where there is none (or its group is about to be created)."""
    identity: Any


class BatchStep(Step):
    id = "batch"
    title = "Batch pool"
    requires = ("identity", "grant")
    Outputs = BatchOut

    def applies(self, spec: Any) -> bool:
        return bool(spec.target.kind == "batch")

    def refresh(self, ctx: RunContext) -> BatchSeen:
        if ctx.group_created(ctx.spec.target_group):
            return BatchSeen(None, None, read_identity(ctx))
        account = read_account(ctx)
        return BatchSeen(account, read_pool(ctx) if account is not None else None, read_identity(ctx))

    def plan(self, ctx: RunContext, observed: BatchSeen) -> PlanItem:
        t, pool, identity = batch_target(ctx.spec), observed.pool, observed.identity
        if observed.account is None:
            return self.item(UPDATE, "", problems=[
                f"target.account: no Batch account {t.account} in {ctx.spec.target_group}. Pick an existing account "
                "(mi-wizard does not create accounts: they carry quotas and storage settings)."])
        if pool is None:
            if t.existing:
                return self.item(UPDATE, "", problems=[
                    f"target.pool: no pool {t.pool} in account {t.account}. Pick an existing pool, or set "
                    "target.existing = false to create it with the identity."])
            return self.item(CREATE, f"Create pool {t.pool} ({t.vm_size}, {t.dedicated_nodes} dedicated / "
                                     f"{t.low_priority_nodes} low-priority nodes) with the identity: its nodes boot "
                                     "with it.", details=[] if t.dedicated_nodes + t.low_priority_nodes else [
                                         "The pool has no nodes: the probe task cannot run until it scales up."])
        if identity is not None and has_identity(pool, identity.id):
            recorded = ctx.state.step(self.id).outputs.get("id", "").lower() == pool.id.lower()
            return self.item(NOTHING if recorded else ADOPT, f"{t.pool} already carries the identity.",
                             data={"pool_id": pool.id})
        nodes = node_counts(pool)
        others = len(pool_identity_ids(pool))
        details = [f"The pool keeps its {others} other identit{'ies' if others > 1 else 'y'}: the whole map is sent "
                   "(a PATCH replaces it)."] if others else []
        if sum(nodes.values()):
            details.append(f"The pool has {nodes['dedicated']} dedicated and {nodes['low_priority']} low-priority "
                           "nodes. Batch nodes keep the identities they booted with: these nodes will NOT get the "
                           "identity until the pool scales to 0 and back.")
            if not t.rescale_for_identity:
                details.append("Set target.rescale_for_identity = true to let mi-wizard do that (downtime: no "
                               "nodes until new ones are ready), or scale the pool yourself when it is idle.")
        return self.item(UPDATE, f"Add the identity to pool {t.pool}.", details=details, data={"pool_id": pool.id})

    def apply(self, ctx: RunContext, item: PlanItem) -> BatchOut:
        identity: IdentityOut = ctx.output(IdentityStep)
        t = batch_target(ctx.spec)
        previous = ctx.state.step(self.id).outputs
        if item.action in (NOTHING, ADOPT):
            pool_id = item.data["pool_id"]
            ctx.claim(self.id, kind="pool", id=pool_id, origin="created" if previous.get("created") else "adopted",
                      step=self.id)
            if previous.get("id", "").lower() == pool_id.lower():
                return ctx.output(BatchStep)  # type: ignore[no-any-return]
            return BatchOut(t.account, t.pool, ctx.spec.target_group, id=pool_id)
        if item.action == CREATE:
            return self.create(ctx, identity)
        nodes: dict[str, int] = {}

        def add(pool: Any) -> Any:
            if has_identity(pool, identity.id):
                return None
            nodes.update(node_counts(pool))
            ids: dict[str, dict[str, Any]] = {i: {} for i in pool_identity_ids(pool)}
            ids[identity.id] = {}
            return {"identity": {"type": "UserAssigned", "userAssignedIdentities": ids}}

        ctx.claim(self.id, kind="pool", id=item.data["pool_id"], origin="adopted", step=self.id,
                  change={"identity_added": identity.id})
        ctx.say(self.id, f"Adding the identity to pool {t.pool}")
        pool = patch_pool(ctx, add)
        ctx.forget(f"pool:{ctx.spec.target_group.lower()}/{t.account.lower()}/{t.pool.lower()}")
        return BatchOut(t.account, t.pool, ctx.spec.target_group, id=pool.id, attached_at=time.time(), nodes_at_attach=nodes or None,
                        nodes_without_identity=bool(sum(nodes.values())) if nodes else None)

    def create(self, ctx: RunContext, identity: IdentityOut) -> BatchOut:
        t = batch_target(ctx.spec)
        publisher, offer, sku, version = t.node_image.split(":")
        body = {"identity": {"type": "UserAssigned", "userAssignedIdentities": {identity.id: {}}},
                "properties": {"vmSize": t.vm_size, "deploymentConfiguration": {"virtualMachineConfiguration": {
                    "imageReference": {"publisher": publisher, "offer": offer, "sku": sku, "version": version},
                    "nodeAgentSkuId": t.node_agent_sku}},
                    "scaleSettings": {"fixedScale": {"targetDedicatedNodes": t.dedicated_nodes,
                                                     "targetLowPriorityNodes": t.low_priority_nodes}},
                    # Pools have metadata, not tags: the same two marks.
                    "metadata": [{"name": k, "value": v} for k, v in ctx.tags.items()]}}
        account = read_account(ctx)
        ctx.claim(self.id, kind="pool", id=f"{account.id}/pools/{t.pool}", origin="created", step=self.id)
        ctx.say(self.id, f"Creating pool {t.pool} with the identity")
        # If-None-Match: * so a pool someone created meanwhile is never overwritten (the next plan adopts it).
        pool = ctx.clients.batch.pool.create(ctx.spec.target_group, t.account, t.pool, body,
                                             match_condition=MatchConditions.IfMissing)
        outputs = BatchOut(t.account, t.pool, ctx.spec.target_group, id=pool.id, created=True, attached_at=time.time(),
                           nodes_at_attach={"dedicated": 0, "low_priority": 0}, nodes_without_identity=False)
        ctx.state.step(self.id).outputs = asdict(outputs)  # recorded before the wait: a resume adopts the pool
        ctx.save()
        wait_steady(ctx, self.id, f"pool {t.pool} to allocate its nodes",
                    {"dedicated": t.dedicated_nodes, "low_priority": t.low_priority_nodes})
        return outputs
