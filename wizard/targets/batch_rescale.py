"""Scale a Batch pool to 0 and back, so that its nodes boot with the identity just added to it.

Azure gives a node its pool's identities when the node is allocated and never after; the documented fix is
to shrink the pool to zero nodes and grow it again. That is downtime, so it runs only when the spec says so
(target.rescale_for_identity = true). The original scale settings and the phase are recorded in the state
BEFORE the first resize: a run stopped or killed in the middle is resumed to the ORIGINAL counts, never to
the zero it may find. Phases: scaling_down -> scaled_down -> restoring -> done; each phase re-checks the
pool, so repeating one after a crash is harmless.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from ..steps.base import NOTHING, UPDATE, PlanItem, RunContext, Step
from ..steps.identity import read_identity
from .batch import batch_target
from .batch_steps import has_identity, node_counts, patch_pool, read_pool, wait_steady

OPERATION = "batch_rescale"
DRAIN = "TaskCompletion"
"""Nodes leave once their running tasks finish; queued tasks wait for the new nodes."""


def stale_nodes_recorded(state: Any, *, include_verify: bool = True) -> bool:
    """The state knows the pool's current nodes booted before the identity was added (and no rescale since):
    recorded when the identity was attached, or found by the last verify's probe."""
    target, rescale, verify = state.step("batch"), state.step("rescale"), state.step("verify")
    if target.outputs.get("nodes_without_identity") and not (
            rescale.outputs.get("phase") == "done" and rescale.updated >= target.updated):
        return True
    if not include_verify:
        return False
    links = (verify.outputs or {}).get("links") or []
    found = any(link.get("link") == "nodes" and not link.get("ok") for link in links)
    return found and verify.updated >= rescale.updated


def original_scale(pool: Any) -> dict[str, Any]:
    scale = pool.properties.scale_settings
    auto = getattr(scale, "auto_scale", None) if scale else None
    if auto is not None:
        # The wire form (the model turns the ISO 8601 interval into a timedelta, which the state cannot hold).
        wire = dict(scale).get("autoScale") or {}
        return {"auto_scale": {"formula": auto.formula, "evaluationInterval": wire.get("evaluationInterval") or "PT15M"},
                "dedicated": None, "low_priority": None}
    fixed = getattr(scale, "fixed_scale", None) if scale else None
    counts = node_counts(pool)
    return {"auto_scale": None,
            "dedicated": fixed.target_dedicated_nodes if fixed and fixed.target_dedicated_nodes is not None
            else counts["dedicated"],
            "low_priority": fixed.target_low_priority_nodes if fixed and fixed.target_low_priority_nodes is not None
            else counts["low_priority"]}


def _fixed(pool: Any) -> tuple[int, int] | None:
    scale = pool.properties.scale_settings
    fixed = getattr(scale, "fixed_scale", None) if scale else None
    if fixed is None or getattr(scale, "auto_scale", None) is not None:
        return None
    return fixed.target_dedicated_nodes or 0, fixed.target_low_priority_nodes or 0


@dataclass(frozen=True)
class RescaleOut:
    phase: str = "not_needed"
    """not_needed, or done once the pool went to 0 and back (in flight, the record holds the progress)."""
    original: dict[str, Any] | None = None
    """The pool's node counts or autoscale formula before, which were restored."""
    started_at: float | None = None
    finished_at: float | None = None


@dataclass(frozen=True)
class RescaleSeen:
    pool: Any
    identity: Any


class RescaleStep(Step):
    id = "rescale"
    title = "Nodes with the identity (scale to 0 and back)"
    requires = ("batch",)
    Outputs = RescaleOut

    def applies(self, spec: Any) -> bool:
        return bool(spec.target.kind == "batch")

    def refresh(self, ctx: RunContext) -> RescaleSeen:
        if ctx.group_created(ctx.spec.target_group):
            return RescaleSeen(None, None)
        return RescaleSeen(read_pool(ctx), read_identity(ctx))

    def plan(self, ctx: RunContext, observed: RescaleSeen) -> PlanItem:
        t, pool, identity = batch_target(ctx.spec), observed.pool, observed.identity
        inflight = self.inflight(ctx)
        if inflight is not None:
            o = inflight["original"]
            return self.item(UPDATE, f"Finish the interrupted rescale of {t.pool} ({inflight['phase']}): bring it "
                                     f"back to {self.describe(o)}.", data={"inflight": inflight})
        if pool is None:
            return self.item(NOTHING, "A new pool's nodes boot with the identity: no rescale needed.")
        counts = node_counts(pool)
        adding = identity is None or not has_identity(pool, identity.id)
        if not sum(counts.values()):
            return self.item(NOTHING, f"{t.pool} has no nodes now: the nodes it allocates boot with the identity.")
        if not (adding or stale_nodes_recorded(ctx.state)):
            return self.item(NOTHING, f"The identity was on {t.pool} already: the probe task shows whether its nodes "
                                      "hold it (if not, verify says so and the next apply offers the rescale).")
        o = original_scale(pool)
        details = [f"Downtime: {t.pool} has no nodes from the moment it shrinks until its {self.describe(o)} are "
                   "ready again (Azure: several minutes). Running tasks finish first; queued tasks wait.",
                   "The original counts are kept in the state: if the run stops, a resume restores them."]
        if not t.rescale_for_identity:
            return self.item(NOTHING, f"{t.pool}'s {sum(counts.values())} nodes booted before the identity was added "
                                      "and will NOT get it. Set target.rescale_for_identity = true to scale the pool "
                                      "to 0 and back (a downtime), or do it yourself when the pool is idle.",
                             details=details)
        return self.item(UPDATE, f"Scale {t.pool} to 0 and back to {self.describe(o)} so that its nodes boot with "
                                 "the identity.", details=details, data={"original": o})

    @staticmethod
    def describe(o: dict[str, Any]) -> str:
        if o.get("auto_scale"):
            return "its autoscale formula"
        return f"{o['dedicated']} dedicated / {o['low_priority']} low-priority nodes"

    def inflight(self, ctx: RunContext) -> dict[str, Any] | None:
        lro = ctx.state.step(self.id).lro or {}
        return dict(lro) if lro.get("operation") == OPERATION and lro.get("phase") != "done" else None

    def apply(self, ctx: RunContext, item: PlanItem) -> RescaleOut:
        if item.action == NOTHING:
            return ctx.output(RescaleStep)  # type: ignore[no-any-return]
        record = ctx.state.step(self.id)
        progress: dict[str, Any] | None = item.data.get("inflight")
        if progress is None:
            # Recorded before the first resize: a resume must restore these, not the 0 it may find.
            progress = {"operation": OPERATION, "original": item.data["original"], "phase": "scaling_down",
                        "started_at": time.time()}
            self.record(ctx, record, progress)
        original, name = progress["original"], batch_target(ctx.spec).pool
        if progress["phase"] == "scaling_down":
            ctx.say(self.id, f"Scaling {name} to 0 nodes")
            wait_steady(ctx, self.id, f"{name} to finish its current resize")
            patch_pool(ctx, lambda pool: None if _fixed(pool) == (0, 0) else {"properties": {"scaleSettings": {
                "fixedScale": {"targetDedicatedNodes": 0, "targetLowPriorityNodes": 0,
                               "nodeDeallocationOption": DRAIN}}}})
            wait_steady(ctx, self.id, f"{name} to release its nodes", {"dedicated": 0, "low_priority": 0})
            progress = {**progress, "phase": "scaled_down"}
            self.record(ctx, record, progress)
        if progress["phase"] == "scaled_down":
            progress = {**progress, "phase": "restoring"}
            self.record(ctx, record, progress)
        if progress["phase"] == "restoring":
            ctx.say(self.id, f"Restoring {name} to {self.describe(original)}")
            patch_pool(ctx, lambda pool: self.restore_body(pool, original))
            want = None if original.get("auto_scale") else {"dedicated": original["dedicated"],
                                                            "low_priority": original["low_priority"]}
            wait_steady(ctx, self.id, f"{name}'s new nodes to be allocated", want)
        return RescaleOut(original=original, phase="done", started_at=progress.get("started_at"),
                          finished_at=time.time())

    @staticmethod
    def restore_body(pool: Any, original: dict[str, Any]) -> dict[str, Any] | None:
        if original.get("auto_scale"):
            scale = pool.properties.scale_settings
            if getattr(scale, "auto_scale", None) is not None:
                return None
            return {"properties": {"scaleSettings": {"autoScale": original["auto_scale"]}}}
        if _fixed(pool) == (original["dedicated"], original["low_priority"]):
            return None
        return {"properties": {"scaleSettings": {"fixedScale": {
            "targetDedicatedNodes": original["dedicated"], "targetLowPriorityNodes": original["low_priority"]}}}}

    @staticmethod
    def record(ctx: RunContext, record: Any, progress: dict[str, Any]) -> None:
        record.lro = progress
        ctx.save()
