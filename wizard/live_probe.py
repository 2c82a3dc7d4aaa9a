"""The live probe on Azure Container Instances: a short-lived group, with the identity, that reads the secret.

It runs `wizard/probe.py` (stdlib only), prints one JSON verdict line (never the value), and is always
deleted afterwards, whatever happened.
"""

from __future__ import annotations

import shlex
import threading
import time
import uuid
from typing import Any

from .progress import Cancelled

PROBE_TIMEOUT_S = 600.0


def run_aci_probe(clients: Any, group: Any, identity: Any, vault_uri: str, secret_name: str, *, image: str,
                  cancel: threading.Event) -> dict[str, Any]:
    from azure.mgmt.containerinstance import models as m

    from . import probe
    from .verify import probe_name

    sub, rg = group.id.split("/")[2], group.id.split("/")[4]
    aci = clients.for_subscription(sub).aci
    name = probe_name(group.name)
    container = m.Container(
        name="probe", image=image, command=probe.probe_command(vault_uri, secret_name, identity.client_id),
        environment_variables=[m.EnvironmentVariable(name="AZURE_CLIENT_ID", value=identity.client_id)],
        resources=m.ResourceRequirements(requests=m.ResourceRequests(memory_in_gb=1.0, cpu=1.0)))
    body = m.ContainerGroup(location=group.location, containers=[container], os_type="Linux", restart_policy="Never",
                            tags={"created-by": "mi-wizard", "purpose": "probe"},
                            identity=m.ContainerGroupIdentity(type="UserAssigned", user_assigned_identities={
                                identity.id: m.UserAssignedIdentities()}))
    try:
        aci.container_groups.begin_create_or_update(rg, name, body).result()
        deadline = time.monotonic() + PROBE_TIMEOUT_S
        pause = 0.25  # the probe runs for seconds: look often at first, then back off
        while True:
            current = aci.container_groups.get(rg, name)
            view = current.containers[0].instance_view
            state = view.current_state.state if view and view.current_state else ""
            if state == "Terminated":
                break
            if time.monotonic() > deadline:
                return {"ok": False, "stage": "container", "code": "ProbeTimeout",
                        "message": "the probe container did not finish in time"}
            if cancel.wait(pause):
                raise Cancelled("stopped while the probe ran")
            pause = min(pause * 1.5, 2.0)
        logs = aci.containers.list_logs(rg, name, "probe").content or ""
        verdict = probe.parse_verdict(logs)
        return verdict or {"ok": False, "stage": "container", "code": "NoVerdict",
                           "message": "the probe printed no verdict (is python3 in the probe image?)"}
    finally:
        try:
            aci.container_groups.begin_delete(rg, name).result()
        except Exception:  # noqa: BLE001 - already gone; never leave the run on a cleanup error
            pass


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
