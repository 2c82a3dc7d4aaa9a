"""The live probe on Azure Container Instances: a short-lived group, with the identity, that reads the secret.

It runs `wizard/probe.py` (stdlib only), prints one JSON verdict line (never the value), and is always
deleted afterwards, whatever happened.
"""

from __future__ import annotations

import shlex
import threading
import time
import uuid
from typing import Any, Callable

from azure.mgmt.core.tools import parse_resource_id, resource_id

from .progress import Cancelled

PROBE_TIMEOUT_S = 600.0


def run_aci_probe(clients: Any, group: Any, identity: Any, vault_uri: str, secret_name: str, *, image: str,
                  cancel: threading.Event, wait_s: float = 0.0, await_delete: bool = True,
                  on_created: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Run the probe in its own short-lived group and return its verdict (`probe_group` names the group).

    `group` is where to run (its id's subscription and resource group, its location): the workload's container
    group, or any object with `.id`, `.name` and `.location`. With `wait_s` the probe keeps trying through a
    grant's propagation inside one container, so one container answers "not yet" or "yes".
    `await_delete=False` starts the probe group's deletion and returns at once: the caller records the group
    (`on_created` is told its id before anything can fail) and the next run finishes the delete.
    """
    from azure.mgmt.containerinstance import models as m

    from . import probe
    from .verify import probe_name

    where = parse_resource_id(group.id)
    sub, rg = where["subscription"], where["resource_group"]
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
                            tags={"created-by": "mi-wizard", "purpose": "probe"},
                            identity=m.ContainerGroupIdentity(type="UserAssigned", user_assigned_identities={
                                identity.id: m.UserAssignedIdentities()}))
    if on_created is not None:
        on_created(probe_id)
    try:
        aci.container_groups.begin_create_or_update(rg, name, body).result()
        deadline = time.monotonic() + PROBE_TIMEOUT_S + wait_s
        pause = 0.25  # the probe runs for seconds: look often at first, then back off
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


def batch_probe_command(vault_uri: str, secret_name: str, client_id: str) -> str:
    """A Batch command line (one string, not run under a shell) that runs the probe through /bin/sh."""
    from . import probe
    return shlex.join(["/bin/sh", "-c", shlex.join(probe.probe_command(vault_uri, secret_name, client_id))])


def run_batch_probe(clients: Any, account_endpoint: str, pool_name: str, identity: Any, vault_uri: str,
                    secret_name: str, *, cancel: threading.Event) -> dict[str, Any]:
    """A one-task job on the pool: the task runs the probe on a node, with the node's identities.

    The job is always deleted afterwards (its task's output with it)."""
    from azure.batch import models as bm

    from . import probe
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


def verdict_link(verdict: dict[str, Any], grant_ok: bool, identity: Any):
    from .verify import Link
    if verdict.get("ok"):
        return Link("probe", True, f"The workload read the secret with its identity (version {verdict.get('version')}).")
    code = verdict.get("code") or "unknown"
    stage = verdict.get("stage")
    if verdict.get("transient"):
        return Link("probe", False, f"Could not check now: {code}: {verdict.get('message', '')} (a transient "
                                    "failure, not a broken link).", "Run `mi-wizard verify` again in a minute.",
                    pending=True)
    if stage == "imds":
        return Link("probe", False, f"The container could not get a token for {identity.name} ({code}: "
                                    f"{verdict.get('message', '')}): the identity is not attached or the client id is "
                                    "wrong.", f"Attach {identity.name} and set AZURE_CLIENT_ID={identity.client_id}.")
    if code in ("ForbiddenByRbac", "AccessDenied", "Forbidden"):
        if grant_ok:
            return Link("probe", False, "Key Vault refused the identity although a grant exists.",
                        "Wait for propagation and verify again.", pending=True)
        return Link("probe", False, f"Key Vault refused the identity ({code}): it has no grant, and waiting will "
                                    "not help.", "Grant Key Vault Secrets User on the secret.")
    if code == "SecretDisabled":
        return Link("probe", False, "The secret is disabled.", "Enable the secret.")
    if code == "SecretNotFound":
        return Link("probe", False, "The secret does not exist.", "Create the secret.")
    return Link("probe", False, f"The probe failed: {code}: {verdict.get('message', '')}",
                "Check the vault's network rules (public access, firewall) and the probe image.")
