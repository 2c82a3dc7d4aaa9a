"""The live probe on ACI, as a step of the graph: once the grant is written and the secret stored, a short-lived
container group with the identity reads the secret (never printing it).

It needs neither the workload's container group nor the grant's propagation: it starts at once, and one
container keeps trying through propagation when a grant exists, so its verdict arrives as soon as Key Vault
honours the grant ("not yet" is waited out inside it; "never", no grant, is reported without waiting). Its
deletion is started and not awaited: the group is recorded, and the next run (or destroy) finishes it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

from azure.mgmt.core.tools import parse_resource_id, resource_id

from ..progress import Cancelled
from ..steps.base import CHECK, NOTHING, PlanItem, RunContext, Step, setup_tags
from ..steps.identity import IdentityStep
from ..steps.lro import wait_poller
from ..steps.vault import VaultStep
from .aci import aci_target


@dataclass(frozen=True)
class ProbeSeen:
    """The probe reads nothing before it runs: whether it runs is decided from the whole plan."""


@dataclass(frozen=True)
class ProbeOut:
    verdict: dict[str, Any] = field(default_factory=dict)
    """The probe's one-line verdict (never the value): ok, stage, code, ..."""
    cleanup: list[str] = field(default_factory=list)
    """Probe groups whose delete was started and not awaited: the next run finishes them."""
    at: float | None = None


class ProbeStep(Step):
    id = "probe"
    Outputs = ProbeOut
    title = "Live probe: the workload's identity reads the secret"
    requires = ("identity", "grant", "secret")
    proves = True

    def applies(self, spec: Any) -> bool:
        return bool(spec.target.kind == "aci" and spec.uses_vault and spec.verify.probe)

    def refresh(self, ctx: RunContext) -> ProbeSeen:
        return ProbeSeen()

    def leftovers(self, ctx: RunContext) -> Callable[[], None] | None:
        """Probe groups whose delete an earlier run started and did not await (or a killed run left)."""
        pending = list(ctx.state.step(self.id).outputs.get("cleanup", []))
        if not pending:
            return None

        def finish() -> None:
            left = {g.lower() for g in finish_probe_cleanup(ctx.clients, pending)}
            done = {g.lower() for g in pending} - left
            with ctx.state_lock:
                record = ctx.state.step(self.id)
                record.outputs = {**record.outputs, "cleanup": [g for g in record.outputs.get("cleanup", [])
                                                                if g.lower() not in done]}
                ctx.save()
        return finish

    def plan(self, ctx: RunContext, observed: ProbeSeen) -> PlanItem:
        # Whether it runs depends on the whole plan (anything changing, or the last verification not passing):
        # the engine decides that once every other step is planned (see Engine.plan).
        return self.item(CHECK, "A short-lived container group with the identity reads the secret and reports "
                                "(never the value); it is deleted afterwards.")

    def apply(self, ctx: RunContext, item: PlanItem) -> ProbeOut:
        if item.action == NOTHING:
            return ctx.output(ProbeStep)  # type: ignore[no-any-return]
        identity, vault, grant = ctx.output(IdentityStep), ctx.output(VaultStep), ctx.outputs("grant")
        spec = ctx.spec
        granted_at = grant.get("granted_at")
        age = time.time() - granted_at if granted_at else None
        # A grant exists (this run wrote or found it): a refusal means "not yet" while it is young.
        wait_s = max(0.0, spec.verify.wait_limit_s - age) if age is not None else 0.0
        where = SimpleNamespace(id=_group_id(ctx), name=aci_target(spec).container_group, location=spec.location)
        record = ctx.state.step(self.id)

        def remember(probe_group: str) -> None:
            with ctx.state_lock:  # the leftovers of an earlier run may be finishing beside this
                cleanup = [g for g in record.outputs.get("cleanup", []) if g.lower() != probe_group.lower()]
                record.outputs = {**record.outputs, "cleanup": cleanup + [probe_group]}
                ctx.save()

        ctx.say(self.id, "Starting the probe container" + (" (it keeps trying while the grant propagates)"
                                                           if wait_s else ""))
        verdict = run_aci_probe(ctx.clients, where, identity, vault.vault_uri,
                                spec.secret.name, image=spec.verify.probe_image or ctx.clients.profile.probe_image,
                                cancel=ctx.cancel, wait_s=wait_s, await_delete=False, on_created=remember,
                                setup=ctx.spec.name)
        return ProbeOut(verdict={k: v for k, v in verdict.items() if k != "probe_group"},
                        cleanup=record.outputs.get("cleanup", []), at=time.time())


def _group_id(ctx: RunContext) -> str:
    return resource_id(subscription=ctx.subscription_id, resource_group=ctx.spec.target_group,
                       namespace="Microsoft.ContainerInstance", type="containerGroups",
                       name=aci_target(ctx.spec).container_group)


PROBE_TIMEOUT_S = 600.0


def run_aci_probe(clients: Any, group: Any, identity: Any, vault_uri: str, secret_name: str, *, image: str,
                  cancel: threading.Event, wait_s: float = 0.0, await_delete: bool = True,
                  on_created: Callable[[str], None] | None = None, setup: str = "") -> dict[str, Any]:
    """Run the probe in its own short-lived group and return its verdict (`probe_group` names the group).

    `group` is where to run (its id's subscription and resource group, its location): the workload's container
    group, or any object with `.id`, `.name` and `.location`. With `wait_s` the probe keeps trying through a
    grant's propagation inside one container, so one container answers "not yet" or "yes".
    `setup` names the setup in the probe group's tags (mi-wizard-setup). `await_delete=False` starts the probe group's deletion and returns at once: the caller records the group
    (`on_created` is told its id before anything can fail) and the next run finishes the delete.
    """
    from azure.mgmt.containerinstance import models as m

    from .. import probe
    from ..verify import probe_name

    where = parse_resource_id(group.id)
    sub, rg = str(where["subscription"]), str(where["resource_group"])
    aci = clients.for_subscription(sub).aci
    name = probe_name(group.name)
    probe_id = resource_id(subscription=sub, resource_group=rg, namespace="Microsoft.ContainerInstance",
                           type="containerGroups", name=name)
    container = m.Container(
        name="probe", image=image,
        command=probe.probe_command(vault_uri, secret_name, identity.client_id, wait_s=round(wait_s)),
        environment_variables=[m.EnvironmentVariable(name="AZURE_CLIENT_ID", value=identity.client_id)],
        resources=m.ResourceRequirements(requests=m.ResourceRequests(memory_in_gb=1.0, cpu=1.0)))
    body = m.ContainerGroup(location=group.location, containers=[container], os_type="Linux", restart_policy="Never",
                            tags={**(setup_tags(setup) if setup else {"created-by": "mi-wizard"}), "purpose": "probe"},
                            identity=m.ContainerGroupIdentity(type="UserAssigned", user_assigned_identities={
                                identity.id: m.UserAssignedIdentities()}))
    if on_created is not None:
        on_created(probe_id)
    try:
        wait_poller(aci.container_groups.begin_create_or_update(rg, name, body), cancel,
                    "stopped while the probe's container group was being created")
        deadline = time.monotonic() + PROBE_TIMEOUT_S + wait_s
        pause = 0.1  # the probe answers within a second or so of starting: look often at first, then back off
        while True:
            current = aci.container_groups.get(rg, name)
            view = current.containers[0].instance_view
            state = view.current_state.state if view and view.current_state else ""
            if state == "Terminated":
                break
            if time.monotonic() > deadline:
                return {"ok": False, "stage": "container", "code": "ProbeTimeout", "transient": True,
                        "message": "the probe container did not finish in time", "probe_group": probe_id}
            if cancel.wait(pause):
                raise Cancelled("stopped while the probe ran")
            pause = min(pause * 1.5, 2.0)
        logs = aci.containers.list_logs(rg, name, "probe").content or ""
        verdict = probe.parse_verdict(logs)
        return {**(verdict or {"ok": False, "stage": "container", "code": "NoVerdict",
                               "message": "the probe printed no verdict (is python3 in the probe image?)"}),
                "probe_group": probe_id}
    finally:
        try:
            poller = aci.container_groups.begin_delete(rg, name)
            if await_delete:
                poller.result()
        except Exception:  # noqa: BLE001 - already gone, or unreachable: the next run finishes the delete
            pass


def finish_probe_cleanup(clients: Any, group_ids: list[str]) -> list[str]:
    """Delete probe groups a run left behind (deletion started, or interrupted); returns those still there."""
    from azure.core.exceptions import ResourceNotFoundError
    left = []
    for group_id in group_ids:
        where = parse_resource_id(group_id)
        aci = clients.for_subscription(where["subscription"]).aci.container_groups
        try:
            aci.get(where["resource_group"], where["name"])
        except ResourceNotFoundError:
            continue
        try:
            aci.begin_delete(where["resource_group"], where["name"]).result()
        except ResourceNotFoundError:
            continue
        except Exception:  # noqa: BLE001 - keep it recorded; the next run tries again
            left.append(group_id)
    return left
