"""Attach the identity to Azure Container Instances: a new container group, or an existing one re-deployed.

ACI's PATCH changes tags only, so adding an identity is a full PUT that restates every property (anything
left out reverts to its default) and restarts the group. Azure never returns secure environment values,
so a group that has them cannot be re-deployed without losing them: that is refused with the reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..steps.base import ADOPT, CREATE, NOTHING, UPDATE, PlanItem, RunContext, Step, StepError, not_found_is_none
from ..steps.identity import IdentityOut, IdentityStep, read_identity
from ..steps.lro import run_lro
from .aci import CLIENT_ID_ENV, aci_target, attached_ids, client_id_env


def read_group(ctx: RunContext) -> Any:
    spec = ctx.spec
    return ctx.read(f"aci:{spec.target_group.lower()}/{aci_target(spec).container_group.lower()}", lambda: not_found_is_none(
        lambda: ctx.clients.aci.container_groups.get(spec.target_group, aci_target(spec).container_group)))


def group_id(ctx: RunContext) -> str:
    from azure.mgmt.core.tools import resource_id
    return str(resource_id(subscription=ctx.subscription_id, resource_group=ctx.spec.target_group,
                           namespace="Microsoft.ContainerInstance", type="containerGroups",
                           name=aci_target(ctx.spec).container_group))


def m_container(data: dict[str, Any]) -> Any:
    from azure.mgmt.containerinstance import models as m
    return m.Container.from_dict(data)


def terminated(group: Any) -> bool:
    view = getattr(group, "instance_view", None)
    state = (getattr(view, "state", "") or "") if view else ""
    return group.restart_policy == "Never" and state in ("Succeeded", "Failed", "Stopped", "Terminated")


@dataclass(frozen=True)
class AciSeen:
    group: Any
    """The SDK's ContainerGroup, or None (none yet, or its resource group is about to be created)."""
    identity: Any


@dataclass(frozen=True)
class AciOut:
    id: str
    name: str
    restarted: bool = False
    """An existing group was re-deployed (its containers restarted)."""


class AciStep(Step):
    id = "aci"
    title = "Container group (ACI)"
    requires = ("identity", "grant")
    Outputs = AciOut

    def applies(self, spec: Any) -> bool:
        return bool(spec.target.kind == "aci")

    def refresh(self, ctx: RunContext) -> AciSeen:
        group = None if ctx.group_created(ctx.spec.target_group) else read_group(ctx)
        return AciSeen(group, read_identity(ctx))

    def plan(self, ctx: RunContext, observed: AciSeen) -> PlanItem:
        spec, group, identity = aci_target(ctx.spec), observed.group, observed.identity
        name = spec.container_group
        if group is None:
            if spec.existing:
                return self.item(UPDATE, "", problems=[
                    f"target.container_group: no container group {name} in {ctx.spec.target_group}. Pick an existing "
                    "group, or set target.existing = false to create it."])
            return self.item(CREATE, f"Create container group {name} ({spec.image}) with the identity and "
                                     f"{CLIENT_ID_ENV} set, so the workload picks this identity.")
        attached = identity is not None and identity.id.lower() in attached_ids(group)
        env_ok = identity is not None and all(client_id_env(c) == identity.client_id for c in group.containers)
        if attached and env_ok:
            recorded = ctx.state.step(self.id).status == "done"
            return self.item(NOTHING if recorded else ADOPT, f"{name} already runs with the identity.",
                             data={"id": group.id, "name": group.name, "origin": ctx.found(group)})
        problems, details = [], []
        if terminated(group):
            if not spec.recreate_if_terminated:
                problems.append(f"target: {name} has terminated, and Azure cannot update a terminated group. Set "
                                "target.recreate_if_terminated = true to delete and re-create it with the identity.")
            details.append(f"{name} has terminated: it will be deleted and created again with the identity.")
        secure = [v.name for c in group.containers for v in (c.environment_variables or []) if v.secure_value is None
                  and v.value is None]
        if secure and not problems:
            problems.append(f"target: {name} has secure environment variables ({', '.join(secure)}) whose values "
                            "Azure never returns; re-deploying it to add the identity would erase them. Re-create the "
                            "group with the identity and those values (for example from your deployment template).")
        details.append(f"Adding the identity re-deploys {name}: every container restarts.")
        for c in group.containers:
            current = client_id_env(c)
            if current and identity is not None and current != identity.client_id:
                details.append(f"Container {c.name} sets {CLIENT_ID_ENV}={current} (another identity); it is kept.")
        return self.item(UPDATE, f"Add the identity to {name}" + (" (re-created)" if terminated(group) else "") + ".",
                         details=details, problems=problems,
                         data={"id": group.id, "name": group.name, "terminated": terminated(group),
                               "group": group.as_dict()})  # the whole group as data: a re-deploy restates it

    def apply(self, ctx: RunContext, item: PlanItem) -> AciOut:
        identity: IdentityOut = ctx.output(IdentityStep)
        spec = ctx.spec
        aci = ctx.clients.aci.container_groups
        if item.action in (NOTHING, ADOPT):
            ctx.claim(self.id, kind="container_group", id=item.data["id"], origin=item.data["origin"], step=self.id)
            return AciOut(id=item.data["id"], name=item.data["name"])
        existing = item.data.get("group")
        if existing is None:
            desired = self.new_group(ctx, identity)
            ctx.claim(self.id, kind="container_group", id=group_id(ctx), origin="created", step=self.id)
        else:
            desired = self.with_identity(existing, identity)
            # What a teardown takes back: the identity and the AZURE_CLIENT_ID it set where none was.
            env_added = [c["name"] for c in existing.get("containers", []) if client_id_env(
                m_container(c)) is None]
            ctx.claim(self.id, kind="container_group", id=item.data["id"], origin="adopted", step=self.id,
                      change={"identity_added": identity.id, "env_added": env_added})
            if item.data["terminated"]:
                ctx.say(self.id, f"Deleting the terminated group {item.data['name']} to re-create it")
                run_lro(ctx, self.id, "aci_delete",
                        lambda **kw: aci.begin_delete(spec.target_group, aci_target(spec).container_group, **kw))
        ctx.say(self.id, f"Deploying container group {aci_target(spec).container_group}")
        result = run_lro(ctx, self.id, "aci_create", lambda **kw: aci.begin_create_or_update(
            spec.target_group, aci_target(spec).container_group, desired, **kw))
        ctx.reads.put(f"aci:{spec.target_group.lower()}/{aci_target(spec).container_group.lower()}", result)
        if result.provisioning_state == "Failed":
            raise StepError("ContainerGroupFailed", f"{result.name} failed to deploy.",
                            "Check the image, command and resources, then resume.")
        return AciOut(id=result.id, name=result.name, restarted=existing is not None)

    @staticmethod
    def new_group(ctx: RunContext, identity: IdentityOut) -> Any:
        from azure.mgmt.containerinstance import models as m
        spec = aci_target(ctx.spec)
        env = [m.EnvironmentVariable(name=k, value=v) for k, v in spec.environment.items() if k != CLIENT_ID_ENV]
        env.append(m.EnvironmentVariable(name=CLIENT_ID_ENV, value=identity.client_id))
        container = m.Container(name=spec.container_group, image=spec.image, command=spec.command or None,
                                environment_variables=env,
                                resources=m.ResourceRequirements(requests=m.ResourceRequests(
                                    memory_in_gb=spec.memory_gb, cpu=spec.cpu)))
        return m.ContainerGroup(
            location=ctx.spec.location, containers=[container], os_type="Linux", restart_policy=spec.restart_policy,
            tags=ctx.tags,
            identity=m.ContainerGroupIdentity(type="UserAssigned",
                                              user_assigned_identities={identity.id: m.UserAssignedIdentities()}))

    @staticmethod
    def without_identity(current: dict[str, Any], identity_id: str, env_added: list[str]) -> Any:
        """The group as it was before this setup added `identity_id` (and AZURE_CLIENT_ID where it set one)."""
        from azure.mgmt.containerinstance import models as m
        group = m.ContainerGroup.from_dict(current)
        ids = {k: m.UserAssignedIdentities() for k in ((group.identity.user_assigned_identities or {})
                                                        if group.identity else {}) if k.lower() != identity_id.lower()}
        system = bool(group.identity and "SystemAssigned" in (group.identity.type or ""))
        kind = ("SystemAssigned, UserAssigned" if system else "UserAssigned") if ids else (
            "SystemAssigned" if system else "None")
        group.identity = m.ContainerGroupIdentity(type=kind, user_assigned_identities=ids or None)
        for container in group.containers:
            if container.name in env_added:
                container.environment_variables = [v for v in container.environment_variables or []
                                                   if v.name != CLIENT_ID_ENV] or None
            container.instance_view = None
        group.instance_view = None
        return group

    @staticmethod
    def with_identity(planned: dict[str, Any], identity: IdentityOut) -> Any:
        """The planned group (a new model built from the plan's data, which stays as it was), every property
        kept, plus the identity (and AZURE_CLIENT_ID where unset)."""
        from azure.mgmt.containerinstance import models as m
        group = m.ContainerGroup.from_dict(planned)
        current = group.identity
        ids = {k: m.UserAssignedIdentities() for k in ((current.user_assigned_identities or {}) if current else {})}
        ids[identity.id] = m.UserAssignedIdentities()
        kind = "SystemAssigned, UserAssigned" if current and "SystemAssigned" in (current.type or "") else "UserAssigned"
        group.identity = m.ContainerGroupIdentity(type=kind, user_assigned_identities=ids)
        for container in group.containers:
            if client_id_env(container) is None:
                container.environment_variables = list(container.environment_variables or []) + [
                    m.EnvironmentVariable(name=CLIENT_ID_ENV, value=identity.client_id)]
            container.instance_view = None
        group.instance_view = None
        return group
