"""The live probe on ACI, as a step of the graph: once the grant is written and the secret stored, a short-lived
container group with the identity reads the secret (never printing it).

It needs neither the workload's container group nor the grant's propagation: it starts at once, and one
container keeps trying through propagation when a grant exists, so its verdict arrives as soon as Key Vault
honours the grant ("not yet" is waited out inside it; "never", no grant, is reported without waiting). Its
deletion is started and not awaited: the group is recorded, and the next run (or destroy) finishes it.
"""

from __future__ import annotations

import time
from types import SimpleNamespace
from typing import Any

from .base import NOTHING, PlanItem, RunContext, Step

CHECK = "check"
"""A plan action that changes nothing in the setup (the probe's group is transient)."""


class ProbeStep(Step):
    id = "probe"
    title = "Live probe: the workload's identity reads the secret"
    requires = ("identity", "grant", "secret")

    def applies(self, spec: Any) -> bool:
        return bool(spec.target.kind == "aci" and spec.uses_vault and spec.verify.probe)

    def refresh(self, ctx: RunContext) -> dict[str, Any]:
        return {}

    def plan(self, ctx: RunContext, observed: dict[str, Any]) -> PlanItem:
        # Whether it runs depends on the whole plan (anything changing, or the last verification not passing):
        # the engine decides that once every other step is planned (see Engine.plan).
        return self.item(CHECK, "A short-lived container group with the identity reads the secret and reports "
                                "(never the value); it is deleted afterwards.")

    def apply(self, ctx: RunContext, item: PlanItem) -> dict[str, Any]:
        from ..live_probe import run_aci_probe
        if item.action == NOTHING:
            return dict(ctx.state.step(self.id).outputs)
        identity, vault, grant = ctx.outputs("identity"), ctx.outputs("vault"), ctx.outputs("grant")
        spec = ctx.spec
        granted_at = grant.get("granted_at")
        age = time.time() - granted_at if granted_at else None
        # A grant exists (this run wrote or found it): a refusal means "not yet" while it is young.
        wait_s = max(0.0, spec.verify.wait_limit_s - age) if age is not None else 0.0
        where = SimpleNamespace(id=_group_id(ctx), name=spec.target.container_group, location=spec.location)
        record = ctx.state.step(self.id)

        def remember(probe_group: str) -> None:
            cleanup = [g for g in record.outputs.get("cleanup", []) if g.lower() != probe_group.lower()]
            record.outputs = {**record.outputs, "cleanup": cleanup + [probe_group]}
            ctx.save()

        ctx.say(self.id, "Starting the probe container" + (" (it keeps trying while the grant propagates)"
                                                           if wait_s else ""))
        verdict = run_aci_probe(ctx.clients, where, SimpleNamespace(**identity), vault["vault_uri"],
                                spec.secret.name, image=spec.verify.probe_image or ctx.clients.profile.probe_image,
                                cancel=ctx.cancel, wait_s=wait_s, await_delete=False, on_created=remember)
        return {"verdict": {k: v for k, v in verdict.items() if k != "probe_group"},
                "cleanup": record.outputs.get("cleanup", []), "at": time.time()}


def _group_id(ctx: RunContext) -> str:
    from azure.mgmt.core.tools import resource_id
    return resource_id(subscription=ctx.subscription_id, resource_group=ctx.spec.target_group,
                       namespace="Microsoft.ContainerInstance", type="containerGroups",
                       name=ctx.spec.target.container_group)
