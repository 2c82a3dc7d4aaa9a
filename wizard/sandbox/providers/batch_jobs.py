"""The Batch service API's jobs, tasks and task files (routes; storage and scheduling are in batch_tasks.py).

Jobs run on an existing pool (poolInfo.poolId; the pool need not exist yet, as in Batch). Creating a job
or a task answers 201 with no body; deleting a job answers 202 and the job is gone at once (the SDK's
begin_delete_job polls get_job until it answers 404 JobNotFound).
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

from ..arm import now_iso, public
from ..router import BATCH, Request, Response, router
from . import batch_tasks as tasks
from .batch_data import (
    JOBS_DELETE,
    JOBS_READ,
    JOBS_WRITE,
    base_url,
    created,
    json_response,
    list_response,
    rfc1123,
    service_error,
    settled_account,
)

ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")  # job and task ids; unique ignoring case
# What a client may set when adding a job or a task (BatchJobCreateOptions, BatchTaskCreateOptions); kept as given.
JOB_CREATE_FIELDS = ("id", "displayName", "usesTaskDependencies", "priority", "allowTaskPreemption",
                     "maxParallelTasks", "constraints", "jobManagerTask", "jobPreparationTask", "jobReleaseTask",
                     "commonEnvironmentSettings", "poolInfo", "onAllTasksComplete", "onTaskFailure",
                     "networkConfiguration", "metadata")
TASK_CREATE_FIELDS = ("id", "displayName", "exitConditions", "commandLine", "containerSettings", "resourceFiles",
                      "outputFiles", "environmentSettings", "affinityInfo", "constraints", "requiredSlots",
                      "userIdentity", "multiInstanceSettings", "dependsOn", "applicationPackageReferences")


def _missing(req: Request, name: str):
    return service_error(req, 400, "MissingRequiredProperty", "A required property was not specified in the request "
                         "body.", (("PropertyName", name),))


def _invalid(req: Request, name: str, value: Any, reason: str):
    return service_error(req, 400, "InvalidPropertyValue", "The value provided for one of the properties in the "
                         "request body is invalid.", (("PropertyName", name), ("PropertyValue", str(value)),
                                                     ("Reason", reason)))


def _require_id(req: Request, body: dict[str, Any], what: str) -> str:
    value = body.get("id")
    if value in (None, ""):
        raise _missing(req, "id")
    if not isinstance(value, str) or not ID.match(value):
        raise _invalid(req, "id", value, f"The {what} id can contain any combination of alphanumeric characters "
                       "including hyphens and underscores, and cannot contain more than 64 characters.")
    return value


def _require_environment(req: Request, body: dict[str, Any], name: str) -> None:
    settings = body.get(name)
    if settings is None:
        return
    if not isinstance(settings, list) or not all(isinstance(s, dict) and isinstance(s.get("name"), str) and s["name"]
                                                 and isinstance(s.get("value", ""), (str, type(None)))
                                                 for s in settings):
        raise _invalid(req, name, settings, "Environment settings are a list of {name, value} strings.")


def _require_constraints(req: Request, body: dict[str, Any]) -> dict[str, Any]:
    constraints = body.get("constraints") or {}
    if not isinstance(constraints, dict):
        raise _invalid(req, "constraints", constraints, "constraints must be an object.")
    return constraints


def _job_not_found(req: Request):
    return service_error(req, 404, "JobNotFound", "The specified job does not exist.")


def _require_job(sb, req: Request, account: dict[str, Any]) -> dict[str, Any]:
    job = tasks.get_job(sb, account["id"], req.params["job"])
    if job is None:
        raise _job_not_found(req)
    return job


def _require_task(sb, req: Request, account: dict[str, Any]) -> dict[str, Any]:
    _require_job(sb, req, account)
    task = tasks.get_task(sb, account["id"], req.params["job"], req.params["task"])
    if task is None:
        raise service_error(req, 404, "TaskNotFound", "The specified task does not exist.")
    return task


def _job_view(req: Request, job: dict[str, Any]) -> dict[str, Any]:
    return {**public(job), "url": f"{base_url(req)}/jobs/{job['id']}"}


def _task_view(req: Request, task: dict[str, Any]) -> dict[str, Any]:
    view = {**public(task), "url": f"{base_url(req)}/jobs/{task['_sandbox']['job']}/tasks/{task['id']}"}
    if "nodeInfo" in task:
        info = task["nodeInfo"]
        node_url = f"{base_url(req)}/pools/{info['poolId']}/nodes/{info['nodeId']}"
        view["nodeInfo"] = {**info, "nodeUrl": node_url,
                            "taskRootDirectoryUrl": f"{node_url}/files/{info['taskRootDirectory']}"}
    return view


# ---- jobs ------------------------------------------------------------------------------------------------------
@router.route("POST", "/jobs", operation="batch_job_create", plane=BATCH)
def create_job(sb, req: Request) -> Response:
    body = req.json_object()
    job_id = _require_id(req, body, "job")
    pool_info = body.get("poolInfo")
    if not isinstance(pool_info, dict) or not pool_info:
        raise _missing(req, "poolInfo")
    if pool_info.get("autoPoolSpecification") is not None:
        # The sandbox runs jobs on pools created through ARM only (pools with identities can only be made there).
        raise _invalid(req, "autoPoolSpecification", "autoPoolSpecification", "The sandbox runs jobs on existing "
                       "pools only: set poolInfo.poolId.")
    if not isinstance(pool_info.get("poolId"), str) or not pool_info["poolId"]:
        raise _missing(req, "poolId")
    _require_environment(req, body, "commonEnvironmentSettings")
    constraints = _require_constraints(req, body)
    on_complete = body.get("onAllTasksComplete", "noaction")
    if on_complete not in ("noaction", "terminatejob"):
        raise _invalid(req, "onAllTasksComplete", on_complete, "Use noaction or terminatejob.")
    with sb.store.transaction():
        account, _ = settled_account(sb, req, JOBS_WRITE)
        if tasks.get_job(sb, account["id"], job_id) is not None:
            raise service_error(req, 409, "JobExists", "The specified job already exists.")
        now, etag = now_iso(), tasks.etag()
        job = {k: body[k] for k in JOB_CREATE_FIELDS if body.get(k) is not None}
        job.update({"eTag": etag, "lastModified": now, "creationTime": now, "state": "active",
                    "stateTransitionTime": now, "priority": body.get("priority", 0),
                    "allowTaskPreemption": body.get("allowTaskPreemption", False),
                    "maxParallelTasks": body.get("maxParallelTasks", -1),
                    "usesTaskDependencies": body.get("usesTaskDependencies", False),
                    "constraints": {"maxWallClockTime": tasks.UNLIMITED, "maxTaskRetryCount": 0, **constraints},
                    "poolInfo": {"poolId": pool_info["poolId"]}, "onAllTasksComplete": on_complete,
                    "onTaskFailure": body.get("onTaskFailure", "noaction"),
                    "executionInfo": {"startTime": now, "poolId": pool_info["poolId"]}})
        tasks.put_job(sb, account["id"], job)
    return created(req, f"{base_url(req)}/jobs/{job_id}", etag)


@router.route("GET", "/jobs", operation="batch_job_list", plane=BATCH)
def list_jobs(sb, req: Request) -> Response:
    with sb.store.transaction():
        account, _ = settled_account(sb, req, JOBS_READ)
        jobs = tasks.list_jobs(sb, account["id"])
    return list_response(req, "jobs", [_job_view(req, j) for j in jobs])


@router.route("GET", "/jobs/{job}", operation="batch_job_get", plane=BATCH)
def get_job(sb, req: Request) -> Response:
    with sb.store.transaction():
        account, _ = settled_account(sb, req, JOBS_READ)
        job = _require_job(sb, req, account)
    return json_response(req, {"odata.metadata": f"{base_url(req)}/$metadata#jobs/@Element", **_job_view(req, job)},
                         headers={"ETag": job["eTag"], "Last-Modified": rfc1123(job["lastModified"])})


@router.route("DELETE", "/jobs/{job}", operation="batch_job_delete", plane=BATCH)
def delete_job(sb, req: Request) -> Response:
    with sb.store.transaction():
        account, _ = settled_account(sb, req, JOBS_DELETE)
        job = _require_job(sb, req, account)
        tasks.delete_job(sb, account["id"], job["id"])
    return json_response(req, None, status=202)


@router.route("GET", "/jobs/{job}/taskcounts", operation="batch_task_counts", plane=BATCH)
def task_counts(sb, req: Request) -> Response:
    with sb.store.transaction():
        account, _ = settled_account(sb, req, JOBS_READ)
        job = _require_job(sb, req, account)
        states = [(t["state"], t.get("executionInfo", {}).get("result")) for t in tasks.list_tasks(sb, account["id"],
                                                                                                  job["id"])]

    def count(state: str, result: str | None = None) -> int:
        return sum(1 for s, r in states if s == state and (result is None or r == result))
    counts = {"active": count("active") + count("preparing"), "running": count("running"),
              "completed": count("completed"), "succeeded": count("completed", "success"),
              "failed": count("completed", "failure")}
    return json_response(req, {"odata.metadata": f"{base_url(req)}/$metadata#taskcounts/@Element",
                               "taskCounts": counts, "taskSlotCounts": dict(counts)})


# ---- tasks -----------------------------------------------------------------------------------------------------
@router.route("POST", "/jobs/{job}/tasks", operation="batch_task_create", plane=BATCH)
def create_task(sb, req: Request) -> Response:
    body = req.json_object()
    task_id = _require_id(req, body, "task")
    if not isinstance(body.get("commandLine"), str) or not body["commandLine"].strip():
        raise _missing(req, "commandLine")
    _require_environment(req, body, "environmentSettings")
    constraints = _require_constraints(req, body)
    with sb.store.transaction():
        account, _ = settled_account(sb, req, JOBS_WRITE)
        job = _require_job(sb, req, account)
        if job["state"] == "completed":
            raise service_error(req, 409, "JobCompleted", "The specified job is already in a completed state.")
        if tasks.get_task(sb, account["id"], job["id"], task_id) is not None:
            raise service_error(req, 409, "TaskExists", "The specified task already exists.")
        now, etag = now_iso(), tasks.etag()
        task = {k: body[k] for k in TASK_CREATE_FIELDS if body.get(k) is not None}
        task.update({"eTag": etag, "creationTime": now, "lastModified": now, "state": "active",
                     "stateTransitionTime": now, "requiredSlots": body.get("requiredSlots", 1),
                     "userIdentity": body.get("userIdentity") or {"autoUser": {"scope": "pool",
                                                                              "elevationLevel": "nonadmin"}},
                     "constraints": {"maxWallClockTime": tasks.UNLIMITED, "retentionTime": "P7D",
                                     "maxTaskRetryCount": 0, **constraints},
                     "executionInfo": {"retryCount": 0, "requeueCount": 0}})
        tasks.add_task(sb, account["id"], job["id"], task)
        tasks.settle(sb, account)  # a free node picks the task up at once
    return created(req, f"{base_url(req)}/jobs/{job['id']}/tasks/{task_id}", etag)


@router.route("GET", "/jobs/{job}/tasks", operation="batch_task_list", plane=BATCH)
def list_tasks(sb, req: Request) -> Response:
    with sb.store.transaction():
        account, _ = settled_account(sb, req, JOBS_READ)
        job = _require_job(sb, req, account)
        found = tasks.list_tasks(sb, account["id"], job["id"])
    return list_response(req, "tasks", [_task_view(req, t) for t in found])


@router.route("GET", "/jobs/{job}/tasks/{task}", operation="batch_task_get", plane=BATCH)
def get_task(sb, req: Request) -> Response:
    with sb.store.transaction():
        account, _ = settled_account(sb, req, JOBS_READ)
        task = _require_task(sb, req, account)
    return json_response(req, {"odata.metadata": f"{base_url(req)}/$metadata#tasks/@Element", **_task_view(req, task)},
                         headers={"ETag": task["eTag"], "Last-Modified": rfc1123(task["lastModified"])})


# ---- task files ------------------------------------------------------------------------------------------------
def _file_url(req: Request, task: dict[str, Any], name: str) -> str:
    return f"{base_url(req)}/jobs/{task['_sandbox']['job']}/tasks/{task['id']}/files/{name}"


@router.route("GET", "/jobs/{job}/tasks/{task}/files", operation="batch_task_file_list", plane=BATCH)
def list_task_files(sb, req: Request) -> Response:
    with sb.store.transaction():
        account, _ = settled_account(sb, req, JOBS_READ)
        task = _require_task(sb, req, account)
    files = []
    for name in tasks.OUTPUT_FILES:
        text = tasks.output_file(task, name)
        if text is not None:
            files.append({"name": name, "url": _file_url(req, task, name), "isDirectory": False,
                          "properties": {"creationTime": task["executionInfo"]["startTime"],
                                         "lastModified": task["lastModified"], "contentLength": len(text.encode()),
                                         "contentType": "text/plain", "fileMode": "0o100644"}})
    return list_response(req, "files", files)


@router.route("HEAD", "/jobs/{job}/tasks/{task}/files/{file:path}", operation="batch_task_file_get", plane=BATCH)
@router.route("GET", "/jobs/{job}/tasks/{task}/files/{file:path}", operation="batch_task_file_get", plane=BATCH)
def get_task_file(sb, req: Request) -> Response:
    with sb.store.transaction():
        account, _ = settled_account(sb, req, JOBS_READ)
        task = _require_task(sb, req, account)
    text = tasks.output_file(task, req.params["file"])
    if text is None:
        raise service_error(req, 404, "FileNotFound", "The specified file does not exist.")
    started = rfc1123(task["executionInfo"]["startTime"])
    headers = {"ocp-creation-time": started, "ocp-batch-file-isdirectory": "False",
               "ocp-batch-file-url": quote(_file_url(req, task, req.params["file"]), safe=""),
               "ocp-batch-file-mode": "0o100644", "Last-Modified": rfc1123(task["lastModified"])}
    response = json_response(req, None, headers=headers)
    response.raw, response.content_type = text.encode(), "application/octet-stream"
    return response
