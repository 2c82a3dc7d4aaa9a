"""Batch jobs and tasks inside the sandbox: storage, scheduling onto pool nodes, and running the probe.

A task waits (state active) until its job's pool has a node with a free task slot; it then runs there.
Scheduling follows the clock without threads, as pool resizes do (batch_nodes.py): every Batch service
call first settles the account (`settle`): tasks whose node left the pool, or whose process was lost when
the sandbox restarted, are requeued; waiting tasks start on free nodes.

A task whose command line is exactly the mi-wizard probe (see `probe_args`) runs that script as a real
subprocess on its node: its IMDS is the node's, so it gets tokens only for the identities the node booted
with. That is how the "Batch nodes never receive an identity PATCHed onto their pool" gotcha shows end to
end. Nothing else is ever executed: any other command line completes at once with exit code 0 and empty
output. Task output (stdout.txt, stderr.txt) is kept in the task's private bookkeeping, never logged.
"""

from __future__ import annotations

import shlex
import threading
import time
import uuid
import weakref
from typing import Any

from .. import containers
from ..arm import get, now_iso
from .batch_nodes import pool_nodes

JOB, TASK = "batch_job", "batch_task"
OUTPUT_FILES = ("stdout.txt", "stderr.txt")
# TimeSpan.MaxValue, which the Batch service reports for "no limit".
UNLIMITED = "P10675199DT2H48M5.4775807S"
SHELLS = ("/bin/sh", "/bin/bash", "sh", "bash")
FAILURE_EXIT_CODE = {"category": "usererror", "code": "FailureExitCode",
                     "message": "The task process exited with an unexpected exit code",
                     "details": [{"name": "Message", "value": "The task process exited with an unexpected exit code"}]}

_epochs: weakref.WeakKeyDictionary[Any, str] = weakref.WeakKeyDictionary()
_epochs_lock = threading.Lock()


def _epoch(sb) -> str:
    """Names this run of the sandbox: a task running under another epoch lost its process in a restart."""
    with _epochs_lock:
        return _epochs.setdefault(sb, uuid.uuid4().hex)


def etag() -> str:
    # Batch service ETags are .NET ticks in hex, e.g. 0x8DC3B2A1F0E4D21.
    return f"0x{int((time.time() + 62135596800) * 1e7):X}"


# ---- the probe as a Batch command line ----------------------------------------------------------------------
def probe_args(command_line: Any) -> list[str] | None:
    """The probe's arguments if `command_line` runs exactly the probe, else None.

    Batch command lines are one string and do not run under a shell, so the probe is passed as
    `shlex.join(probe_command(vault_url, secret, client_id))`, i.e. python3 -c '<probe source>' VAULT SECRET
    [CLIENT_ID], optionally wrapped as /bin/sh -c '<that>' (or bash). Quoting is POSIX (shlex).
    """
    if not isinstance(command_line, str):
        return None
    try:
        argv = shlex.split(command_line)
        if len(argv) == 3 and argv[0] in SHELLS and argv[1] == "-c":
            argv = shlex.split(argv[2])
    except ValueError:
        return None
    return argv[3:] if containers.is_probe(argv) else None


# ---- storage --------------------------------------------------------------------------------------------------
def job_key(account_id: str, job_id: str) -> str:
    return f"{account_id}/jobs/{job_id}"


def task_key(account_id: str, job_id: str, task_id: str) -> str:
    return f"{job_key(account_id, job_id)}/tasks/{task_id}"


def get_job(sb, account_id: str, job_id: str) -> dict[str, Any] | None:
    return sb.store.get(JOB, job_key(account_id, job_id))


def list_jobs(sb, account_id: str) -> list[dict[str, Any]]:
    return sb.store.list(JOB, parent=account_id)


def put_job(sb, account_id: str, job: dict[str, Any]) -> None:
    sb.store.put(JOB, job_key(account_id, job["id"]), job, parent=account_id)


def get_task(sb, account_id: str, job_id: str, task_id: str) -> dict[str, Any] | None:
    return sb.store.get(TASK, task_key(account_id, job_id, task_id))


def list_tasks(sb, account_id: str, job_id: str) -> list[dict[str, Any]]:
    return sb.store.list(TASK, parent=job_key(account_id, job_id))


def _put_task(sb, task: dict[str, Any]) -> None:
    meta = task["_sandbox"]
    sb.store.put(TASK, task_key(meta["account"], meta["job"], task["id"]), task,
                 parent=job_key(meta["account"], meta["job"]))


def add_task(sb, account_id: str, job_id: str, task: dict[str, Any]) -> None:
    task["_sandbox"] = {"account": account_id, "job": job_id, "files": {}}
    _put_task(sb, task)


def delete_job(sb, account_id: str, job_id: str) -> None:
    """Delete a job and its tasks, killing the probes still running (call inside a store transaction)."""
    for task in list_tasks(sb, account_id, job_id):
        containers.stop_group(sb, task_key(account_id, job_id, task["id"]))
        sb.store.delete(TASK, task_key(account_id, job_id, task["id"]))
    sb.store.delete(JOB, job_key(account_id, job_id))


def output_file(task: dict[str, Any], name: str) -> str | None:
    """A task file's text: stdout.txt and stderr.txt exist once the task has started on a node."""
    if name not in OUTPUT_FILES or "nodeInfo" not in task:
        return None
    return task["_sandbox"]["files"].get(name, "")


# ---- state changes ----------------------------------------------------------------------------------------------
def _transition(record: dict[str, Any], state: str, at: str) -> None:
    record["previousState"], record["previousStateTransitionTime"] = record["state"], record["stateTransitionTime"]
    record["state"], record["stateTransitionTime"] = state, at
    record["lastModified"], record["eTag"] = at, etag()


def _requeue(sb, task: dict[str, Any]) -> None:
    """The node (or its process) is gone: the task waits for another node, as Batch's Requeue does."""
    meta = task["_sandbox"]
    containers.stop_group(sb, task_key(meta["account"], meta["job"], task["id"]))
    now = now_iso()
    info = task["executionInfo"]
    info.update(requeueCount=info.get("requeueCount", 0) + 1, lastRequeueTime=now)
    info.pop("startTime", None)
    task.pop("nodeInfo", None)
    meta.update(files={}, run=None)
    _transition(task, "active", now)


def _complete(sb, task: dict[str, Any], code: int, stdout: str, stderr: str) -> None:
    now = now_iso()
    info = task["executionInfo"]
    info.update(endTime=now, exitCode=code, result="success" if code == 0 else "failure")
    if code != 0:
        info["failureInfo"] = FAILURE_EXIT_CODE
    task["_sandbox"].update(files={"stdout.txt": stdout, "stderr.txt": stderr}, run=None)
    _transition(task, "completed", now)
    _put_task(sb, task)
    meta = task["_sandbox"]
    job = get_job(sb, meta["account"], meta["job"])
    if job is not None and job.get("onAllTasksComplete") == "terminatejob" and job["state"] == "active" and \
            all(t["state"] == "completed" for t in list_tasks(sb, meta["account"], meta["job"])):
        _transition(job, "completed", now)
        job["executionInfo"].update(endTime=now, terminateReason="AllTasksComplete")
        put_job(sb, meta["account"], job)


def _environment(sb, job: dict[str, Any], task: dict[str, Any], pool_name: str, node: dict[str, Any],
                 account_name: str) -> dict[str, str]:
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin"}
    for setting in (job.get("commonEnvironmentSettings") or []) + (task.get("environmentSettings") or []):
        env[setting["name"]] = setting.get("value") or ""
    env.update(AZ_BATCH_ACCOUNT_NAME=account_name, AZ_BATCH_POOL_ID=pool_name, AZ_BATCH_NODE_ID=node["id"],
               AZ_BATCH_JOB_ID=job["id"], AZ_BATCH_TASK_ID=task["id"])
    # Set last, so a task's own settings cannot point it at another IMDS: it gets only its node's identities.
    env["AZURE_POD_IDENTITY_AUTHORITY_HOST"] = node["imds_url"]
    env["SSL_CERT_FILE"] = str(sb.ca_path)  # the stdlib trusts the sandbox's CA, as a real node trusts Azure's
    return env


def _start(sb, account: dict[str, Any], job: dict[str, Any], task: dict[str, Any], pool_name: str,
           node: dict[str, Any]) -> None:
    now = now_iso()
    task["executionInfo"]["startTime"] = now
    task["nodeInfo"] = {"affinityId": f"TVM:{node['id']}", "poolId": pool_name, "nodeId": node["id"],
                        "taskRootDirectory": f"workitems/{job['id']}/job-1/{task['id']}"}
    _transition(task, "running", now)
    args = probe_args(task["commandLine"])
    if args is None:
        _complete(sb, task, 0, "", "")
        return
    token = uuid.uuid4().hex
    task["_sandbox"].update(run=token, epoch=_epoch(sb))
    _put_task(sb, task)
    key = task_key(account["id"], job["id"], task["id"])

    def on_exit(run, code: int, stdout: str, stderr: str) -> None:
        with sb.store.transaction():
            if run.cancelled:  # checked under the store lock, which whoever cancels holds too
                return
            current = sb.store.get(TASK, key)
            if current is not None and current["state"] == "running" and current["_sandbox"].get("run") == token:
                _complete(sb, current, code, stdout, stderr)

    containers.run_probe(sb, key, args, _environment(sb, job, task, pool_name, node, account["name"]), on_exit,
                         name=f"batch-{job['id']}-{task['id']}")


# ---- scheduling -------------------------------------------------------------------------------------------------
def _account_tasks(sb, account_id: str) -> list[dict[str, Any]]:
    return sb.store.list(TASK, key_prefix=account_id + "/jobs/")  # in creation order


def settle(sb, account: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """Requeue lost tasks, start waiting ones on free nodes; returns the running tasks by node id.

    Call inside a store transaction.
    """
    account_id = account["id"]
    tasks = _account_tasks(sb, account_id)
    jobs = {j["id"].lower(): j for j in list_jobs(sb, account_id)}
    pools: dict[str, tuple[dict[str, Any], list[dict[str, Any]]]] = {}

    def pool(name: str) -> tuple[dict[str, Any], list[dict[str, Any]]] | None:
        if name.lower() not in pools:
            pool_id = f"{account_id}/pools/{name}"
            try:
                nodes = pool_nodes(sb, pool_id)
            except KeyError:
                return None
            pools[name.lower()] = (get(sb, pool_id), nodes)
        return pools[name.lower()]

    running: dict[str, list[dict[str, Any]]] = {}
    for task in tasks:
        if task["state"] != "running":
            continue
        found = pool(task["nodeInfo"]["poolId"])
        node_ids = {n["id"] for n in found[1] if n["state"] != "leavingpool"} if found else set()
        lost = task["_sandbox"].get("run") and task["_sandbox"].get("epoch") != _epoch(sb)
        if task["nodeInfo"]["nodeId"] not in node_ids or lost:
            _requeue(sb, task)
            _put_task(sb, task)
        else:
            running.setdefault(task["nodeInfo"]["nodeId"], []).append(task)
    for task in tasks:
        job = jobs.get(task["_sandbox"]["job"].lower())
        if task["state"] != "active" or job is None or job["state"] != "active":
            continue
        found = pool(job["poolInfo"]["poolId"])
        if found is None:
            continue  # Batch accepts a job for a pool that does not exist yet; its tasks wait for it
        pool_record, nodes = found
        slots = pool_record["properties"].get("taskSlotsPerNode", 1)
        free = [n for n in nodes if n["state"] == "idle" and len(running.get(n["id"], [])) < slots]
        if not free:
            continue
        node = min(free, key=lambda n: len(running.get(n["id"], [])))  # nodeFillType Spread
        _start(sb, account, job, task, pool_record["name"], node)
        if task["state"] == "running":
            running.setdefault(node["id"], []).append(task)
    return running


def node_history(sb, account_id: str) -> dict[str, dict[str, int]]:
    """Per node id: tasks run and succeeded there (for BatchNode.totalTasksRun / totalTasksSucceeded)."""
    out: dict[str, dict[str, int]] = {}
    for task in _account_tasks(sb, account_id):
        if "nodeInfo" not in task:
            continue
        counts = out.setdefault(task["nodeInfo"]["nodeId"], {"run": 0, "succeeded": 0})
        counts["run"] += 1
        counts["succeeded"] += int(task.get("executionInfo", {}).get("result") == "success")
    return out
