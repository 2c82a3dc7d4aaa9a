"""The Batch service API (azure-batch BatchClient) of sandbox Batch accounts over HTTPS: pools, nodes, node counts,
jobs, tasks and task files, Batch-shaped errors and RBAC, and the probe running as a task on a pool node, which
makes the "nodes keep the identities they booted with" gotcha (AZURE_FACTS B2) visible end to end."""

from __future__ import annotations

import json
import re
import shlex
import socket
import ssl
import time
import urllib.error
import urllib.request

import pytest
from azure.batch import BatchClient
from azure.batch import models as bm
from azure.core.exceptions import HttpResponseError, ResourceExistsError, ResourceNotFoundError

from wizard import probe
from wizard.azure.clients import make_credential
from wizard.sandbox import containers
from wizard.sandbox.providers.batch_nodes import pool_nodes
from wizard.sandbox.seed import assign

RG, ACCOUNT, LOC = "rg-batch-jobs", "contosobatch", "westeurope"
SECRETS_USER = "4633458b-17de-408a-b874-0445c86b69e6"
SECRETS_OFFICER = "b86a8fe4-44ce-4948-aee5-eccb2c155cd7"
READER = "acdd72a7-3385-48ef-bd42-f606fba81ae7"
SECRET_VALUE = "batch-probe-secret-value-0123456789"
IMAGE = {"imageReference": {"publisher": "canonical", "offer": "ubuntu-24_04-lts", "sku": "server",
                            "version": "latest"}, "nodeAgentSkuId": "batch.node.ubuntu 24.04"}


def _client(az, profile, credential) -> BatchClient:
    endpoint = az.batch.batch_account.get(RG, ACCOUNT).account_endpoint
    return BatchClient(f"https://{endpoint}", credential, **profile.transport_kwargs())


@pytest.fixture
def batch(az, profile, credential) -> BatchClient:
    """BatchClient for the demo account contosobatch (pool-etl: 2 idle nodes), signed in as the Owner operator."""
    return _client(az, profile, credential)


@pytest.fixture
def vault(sandbox, az):
    """An RBAC vault holding one secret: (vault id, vault URL, the secret's version)."""
    created = az.keyvault.vaults.begin_create_or_update(RG, "kv-probe-batch", {
        "location": LOC, "properties": {"tenantId": sandbox.tenant_id, "sku": {"family": "A", "name": "standard"},
                                        "enableRbacAuthorization": True}}).result()
    assign(sandbox, created.id, SECRETS_OFFICER, sandbox.operator()["objectId"], "officer:kv-probe-batch")
    secret = az.secrets(created.properties.vault_uri).set_secret("git-token", SECRET_VALUE)
    return created.id, created.properties.vault_uri, secret.properties.version


def _pool(az, name: str, nodes: int, identity_ids: list[str] | None = None):
    body: dict = {"properties": {"vmSize": "STANDARD_D2S_V3",
                                 "deploymentConfiguration": {"virtualMachineConfiguration": IMAGE},
                                 "scaleSettings": {"fixedScale": {"targetDedicatedNodes": nodes}}}}
    if identity_ids:
        body["identity"] = {"type": "UserAssigned", "userAssignedIdentities": {i: {} for i in identity_ids}}
    return az.batch.pool.create(RG, ACCOUNT, name, body)


def _scale(az, pool: str, nodes: int) -> None:
    az.batch.pool.update(RG, ACCOUNT, pool, {"properties": {"scaleSettings": {
        "fixedScale": {"targetDedicatedNodes": nodes}}}})
    deadline = time.monotonic() + 10
    while (got := az.batch.pool.get(RG, ACCOUNT, pool).properties).allocation_state != "Steady" or \
            got.current_dedicated_nodes != nodes:
        assert time.monotonic() < deadline, f"pool {pool} did not reach {nodes} nodes"
        time.sleep(0.05)


def _identity(az, name: str):
    return az.msi.user_assigned_identities.create_or_update(RG, name, {"location": LOC})


def _job(batch: BatchClient, job_id: str, pool: str) -> None:
    batch.create_job(bm.BatchJobCreateOptions(id=job_id, pool_info=bm.BatchPoolInfo(pool_id=pool)))


def _task(batch: BatchClient, job_id: str, task_id: str, command_line: str, env: dict[str, str] | None = None) -> None:
    settings = [bm.EnvironmentSetting(name=k, value=v) for k, v in (env or {}).items()]
    batch.create_task(job_id, bm.BatchTaskCreateOptions(id=task_id, command_line=command_line,
                                                        environment_settings=settings or None))


def _wait_completed(batch: BatchClient, job_id: str, task_id: str, timeout: float = 20.0) -> bm.BatchTask:
    """Poll the task, as the wizard does, until Batch reports it completed (the probe runs as a real process)."""
    deadline = time.monotonic() + timeout
    while (task := batch.get_task(job_id, task_id)).state != "completed":
        assert time.monotonic() < deadline, f"task {job_id}/{task_id} stayed {task.state}"
        time.sleep(0.05)
    return task


def _output(batch: BatchClient, job_id: str, task_id: str) -> tuple[str, str]:
    return tuple(b"".join(batch.download_task_file(job_id, task_id, name)).decode()
                 for name in ("stdout.txt", "stderr.txt"))


def _probe_line(vault_url: str, client_id: str | None = None) -> str:
    """The probe as a Batch task command line (one string, POSIX quoting)."""
    return shlex.join(probe.probe_command(vault_url, "git-token", client_id))


def _error(call) -> tuple[int, str]:
    with pytest.raises(HttpResponseError) as err:
        call()
    return err.value.status_code, err.value.error.code


# ---- pools, nodes, node counts -------------------------------------------------------------------------------
def test_account_endpoint_serves_pools_nodes_and_node_counts(sandbox, az, batch):
    account = az.batch.batch_account.get(RG, ACCOUNT)
    assert account.account_endpoint == sandbox.batch_url(account.id).removeprefix("https://")
    pool = batch.get_pool("pool-etl")
    assert (pool.id, pool.state, pool.allocation_state, pool.vm_size) == ("pool-etl", "active", "steady",
                                                                          "standard_d2s_v3")
    assert (pool.current_dedicated_nodes, pool.target_dedicated_nodes, pool.enable_auto_scale) == (2, 2, False)
    assert pool.virtual_machine_configuration.node_agent_sku_id == "batch.node.ubuntu 24.04"
    assert pool.identity is None and pool.etag.startswith("0x")
    arm_nodes = pool_nodes(sandbox, az.batch.pool.get(RG, ACCOUNT, "pool-etl").id)
    nodes = list(batch.list_nodes("pool-etl"))
    assert [n.id for n in nodes] == [n["id"] for n in arm_nodes]
    assert all(n.state == "idle" and n.is_dedicated and n.vm_size == "standard_d2s_v3" for n in nodes)
    assert batch.get_node("pool-etl", nodes[1].id).affinity_id == f"TVM:{nodes[1].id}"
    counts = {c.pool_id: c for c in batch.list_pool_node_counts()}
    assert list(counts) == ["pool-etl"]
    assert (counts["pool-etl"].dedicated.idle, counts["pool-etl"].dedicated.total,
            counts["pool-etl"].low_priority.total) == (2, 2, 0)

    ident = _identity(az, "id-batch-view")
    _pool(az, "pool-mi", 1, [ident.id])
    seen = batch.get_pool("pool-mi").identity.user_assigned_identities
    assert [(i.resource_id, i.client_id, i.principal_id) for i in seen] == \
        [(ident.id, ident.client_id, ident.principal_id)]
    filtered = list(batch.list_pool_node_counts(filter="poolId eq 'pool-mi'"))
    assert [(c.pool_id, c.dedicated.idle) for c in filtered] == [("pool-mi", 1)]
    assert sorted(p.id for p in batch.list_pools()) == ["pool-etl", "pool-mi"]
    with pytest.raises(ResourceNotFoundError) as err:
        batch.get_pool("pool-nope")
    assert err.value.error.code == "PoolNotFound" and "does not exist" in err.value.error.message


# ---- jobs, tasks, files --------------------------------------------------------------------------------------
def test_job_and_task_run_on_a_node_and_keep_their_output(batch):
    _job(batch, "job-plain", "pool-etl")
    job = batch.get_job("job-plain")
    assert (job.state, job.pool_info.pool_id, job.url.endswith("/jobs/job-plain")) == ("active", "pool-etl", True)
    _task(batch, "job-plain", "hello", "/bin/sh -c 'echo hello'")
    task = _wait_completed(batch, "job-plain", "hello")
    info = task.execution_info
    assert (info.exit_code, info.result, info.failure_info) == (0, "success", None)
    assert info.start_time <= info.end_time and task.command_line == "/bin/sh -c 'echo hello'"
    assert task.node_info.pool_id == "pool-etl"
    assert task.node_info.node_id in {n.id for n in batch.list_nodes("pool-etl")}
    # Only the probe ever runs: any other command completes with empty output.
    assert _output(batch, "job-plain", "hello") == ("", "")
    assert [f.name for f in batch.list_task_files("job-plain", "hello")] == ["stdout.txt", "stderr.txt"]
    assert [t.id for t in batch.list_tasks("job-plain")] == ["hello"]
    assert batch.get_job_task_counts("job-plain").task_counts.succeeded == 1
    assert batch.get_node("pool-etl", task.node_info.node_id).total_tasks_run == 1
    # A job that terminates when all its tasks complete (as the wizard's probe job does) takes no more tasks.
    batch.create_job(bm.BatchJobCreateOptions(id="job-once", pool_info=bm.BatchPoolInfo(pool_id="pool-etl"),
                                              all_tasks_complete_mode="terminatejob"))
    _task(batch, "job-once", "only", "/bin/true")
    _wait_completed(batch, "job-once", "only")
    once = batch.get_job("job-once")
    assert (once.state, once.execution_info.termination_reason) == ("completed", "AllTasksComplete")
    assert _error(lambda: _task(batch, "job-once", "late", "/bin/true")) == (409, "JobCompleted")
    batch.begin_delete_job("job-plain", polling_interval=1).result()
    with pytest.raises(ResourceNotFoundError) as err:
        batch.get_job("job-plain")
    assert err.value.error.code == "JobNotFound"


def test_tasks_wait_for_a_node_of_their_pool(az, batch):
    """A job may name a pool with no nodes (or none at all); its tasks stay active until a node is free."""
    _pool(az, "pool-empty", 0)
    _job(batch, "job-wait", "pool-empty")
    _task(batch, "job-wait", "t1", "/bin/true")
    assert batch.get_task("job-wait", "t1").state == "active"
    with pytest.raises(ResourceNotFoundError) as err:  # a streamed download: the SDK leaves the body unread
        batch.download_task_file("job-wait", "t1", "stdout.txt")
    assert json.loads(err.value.response.read())["code"] == "FileNotFound"
    _scale(az, "pool-empty", 1)
    task = _wait_completed(batch, "job-wait", "t1")
    assert (task.execution_info.result, task.execution_info.requeue_count) == ("success", 0)


# ---- the probe as a task -------------------------------------------------------------------------------------
def test_probe_task_reads_the_secret_on_a_pool_created_with_the_identity(sandbox, az, batch, vault):
    vault_id, vault_url, version = vault
    ident = _identity(az, "id-batch-probe")
    assign(sandbox, vault_id, SECRETS_USER, ident.principal_id, "grant:batch-probe")
    _pool(az, "pool-mi", 1, [ident.id])
    _job(batch, "verify", "pool-mi")
    _task(batch, "verify", "probe", _probe_line(vault_url, ident.client_id))
    task = _wait_completed(batch, "verify", "probe")
    stdout, stderr = _output(batch, "verify", "probe")
    assert (task.execution_info.exit_code, task.execution_info.result) == (0, "success")
    verdict = probe.parse_verdict(stdout)
    assert verdict == {"ok": True, "stage": "vault", "status": 200, "code": None, "message": "", "version": version,
                       "client_id": ident.client_id, "attempts": 1, "transient": False,
                       "waited_s": verdict["waited_s"]}
    assert stderr == ""
    assert SECRET_VALUE not in stdout + stderr + json.dumps(task.as_dict())

    # Wrapped in a shell, with the client id from the task's environment settings instead of an argument.
    _task(batch, "verify", "probe-sh", shlex.join(["/bin/sh", "-c", _probe_line(vault_url)]),
          env={"AZURE_CLIENT_ID": ident.client_id})
    assert _wait_completed(batch, "verify", "probe-sh").execution_info.exit_code == 0
    assert probe.parse_verdict(_output(batch, "verify", "probe-sh")[0])["client_id"] == ident.client_id


def test_probe_fails_on_nodes_booted_before_the_identity_until_the_pool_is_scaled_to_zero_and_back(
        sandbox, az, batch, vault):
    vault_id, vault_url, version = vault
    ident = _identity(az, "id-batch-late")
    assign(sandbox, vault_id, SECRETS_USER, ident.principal_id, "grant:batch-late")
    _pool(az, "pool-late", 1)
    az.batch.pool.update(RG, ACCOUNT, "pool-late", {"identity": {
        "type": "UserAssigned", "userAssignedIdentities": {ident.id: {}}}})
    assert batch.get_pool("pool-late").identity.user_assigned_identities[0].client_id == ident.client_id
    _job(batch, "verify", "pool-late")
    _task(batch, "verify", "before", _probe_line(vault_url, ident.client_id))
    failed = _wait_completed(batch, "verify", "before")
    assert (failed.execution_info.exit_code, failed.execution_info.result) == (1, "failure")
    assert failed.execution_info.failure_info.code == "FailureExitCode"
    verdict = probe.parse_verdict(_output(batch, "verify", "before")[0])
    assert (verdict["ok"], verdict["stage"], verdict["status"], verdict["code"]) == (False, "imds", 400,
                                                                                     "invalid_request")
    assert "Identity not found" in verdict["message"]

    _scale(az, "pool-late", 0)
    _scale(az, "pool-late", 1)
    _task(batch, "verify", "after", _probe_line(vault_url, ident.client_id))
    fixed = _wait_completed(batch, "verify", "after")
    assert fixed.node_info.node_id != failed.node_info.node_id
    assert (fixed.execution_info.exit_code, probe.parse_verdict(_output(batch, "verify", "after")[0])["version"]) == \
        (0, version)


def test_running_probe_keeps_its_node_busy_and_is_killed_with_its_job_or_the_sandbox(sandbox, az, batch):
    ident = _identity(az, "id-batch-hang")
    _pool(az, "pool-hang", 2, [ident.id])
    with socket.socket() as silent:  # accepts connections, never answers: the probe's vault call hangs
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        url = f"https://127.0.0.1:{silent.getsockname()[1]}/"
        _job(batch, "job-a", "pool-hang")
        _job(batch, "job-b", "pool-hang")
        _task(batch, "job-a", "hang", _probe_line(url, ident.client_id))
        _task(batch, "job-b", "hang", _probe_line(url, ident.client_id))
        runs = containers._runtime(sandbox).runs
        deadline = time.monotonic() + 10
        while len([r for r in runs if r.proc is not None]) < 2:
            assert time.monotonic() < deadline
            time.sleep(0.02)
        procs = {r.group_id.split("/jobs/")[1].split("/")[0]: r.proc for r in runs}
        assert batch.get_task("job-a", "hang").state == "running"
        assert sorted(n.state for n in batch.list_nodes("pool-hang")) == ["running", "running"]
        assert next(iter(batch.list_pool_node_counts(filter="poolId eq 'pool-hang'"))).dedicated.running == 2
        batch.begin_delete_job("job-a", polling_interval=1).result()
        assert procs["job-a"].wait(timeout=5) != 0 and procs["job-b"].poll() is None
        assert sorted(n.state for n in batch.list_nodes("pool-hang")) == ["idle", "running"]
        containers.stop_all(sandbox)  # what Sandbox.stop() does first
        assert procs["job-b"].poll() is not None and not containers._runtime(sandbox).runs


# ---- errors and access ---------------------------------------------------------------------------------------
def _raw(url: str, sandbox, token: str | None = None, method: str = "GET", body: bytes | None = None
         ) -> tuple[int, dict]:
    ctx = ssl.create_default_context(cafile=str(sandbox.ca_path))
    headers = {"Content-Type": "application/json", **({"Authorization": f"Bearer {token}"} if token else {})}
    req = urllib.request.Request(url, method=method, data=body, headers=headers)
    try:
        with urllib.request.urlopen(req, context=ctx) as resp:
            raw = resp.read()
            return resp.status, json.loads(raw) if raw and "json" in resp.headers.get("Content-Type", "") else {}
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read() or b"{}")


def test_batch_errors_authentication_and_authorization(sandbox, az, profile, credential, batch):
    assert _error(lambda: batch.get_job("nope")) == (404, "JobNotFound")
    assert _error(lambda: _task(batch, "nope", "t", "/bin/true")) == (404, "JobNotFound")
    _job(batch, "job-e", "pool-etl")
    with pytest.raises(ResourceExistsError) as err:
        _job(batch, "job-e", "pool-etl")
    assert err.value.error.code == "JobExists" and err.value.error.message.startswith("The specified job already")
    _task(batch, "job-e", "t", "/bin/true")
    assert _error(lambda: _task(batch, "job-e", "T", "/bin/true")) == (409, "TaskExists")  # ids ignore case
    assert _error(lambda: batch.get_task("job-e", "other")) == (404, "TaskNotFound")
    with pytest.raises(HttpResponseError) as err:
        batch.create_task("job-e", bm.BatchTaskCreateOptions(id="no-command", command_line=""))
    assert (err.value.status_code, err.value.error.code) == (400, "MissingRequiredProperty")
    assert [(d.code, d.message) for d in err.value.error.details] == [("PropertyName", "commandLine")]
    assert _error(lambda: _job(batch, "bad id!", "pool-etl")) == (400, "InvalidPropertyValue")

    base = f"https://{az.batch.batch_account.get(RG, ACCOUNT).account_endpoint}"
    status, body = _raw(f"{base}/pools/pool-etl?api-version=2025-06-01", sandbox)
    assert (status, body["code"], body["message"]["lang"]) == (401, "AuthenticationFailed", "en-US")
    assert body["odata.metadata"].startswith(base + "/$metadata#") and "RequestId:" in body["message"]["value"]
    batch_token = credential.get_token("https://batch.core.windows.net//.default").token
    status, body = _raw(f"{base}/pools/pool-etl", sandbox, batch_token)
    assert (status, body["code"], body["values"]) == (400, "MissingRequiredQueryParameter",
                                                      [{"key": "QueryParameterName", "value": "api-version"}])
    arm_token = credential.get_token("https://management.azure.com/.default").token
    status, body = _raw(f"{base}/pools/pool-etl?api-version=2025-06-01", sandbox, arm_token)
    assert (status, body["code"]) == (401, "AuthenticationFailed")
    assert body["values"][0]["key"] == "AuthenticationErrorDetail" and "audience" in body["values"][0]["value"]

    nobody = sandbox.add_operator("nobody", "no roles at all")
    stranger = _client(az, profile, make_credential(profile.with_operator(nobody["clientId"], nobody["clientSecret"])))
    assert _error(lambda: stranger.get_pool("pool-etl")) == (403, "AuthorizationFailure")
    account_id = az.batch.batch_account.get(RG, ACCOUNT).id
    assign(sandbox, account_id, READER, nobody["objectId"], "reader:contosobatch")
    assert stranger.get_pool("pool-etl").id == "pool-etl" and stranger.get_job("job-e").id == "job-e"
    assert _error(lambda: _job(stranger, "job-r", "pool-etl")) == (403, "AuthorizationFailure")
    assert _error(lambda: stranger.begin_delete_job("job-e").result()) == (403, "AuthorizationFailure")


def test_every_batch_route_answers_malformed_requests_with_batch_errors(sandbox, az, credential):
    """Bad input never crashes the Batch service API: Batch-shaped 4xx errors, never a 500."""
    from wizard.sandbox.router import BATCH, router
    base = f"https://{az.batch.batch_account.get(RG, ACCOUNT).account_endpoint}"
    token = credential.get_token("https://batch.core.windows.net//.default").token
    bodies = [b"", b"{", b"[]", b"null", b'{"id": 5}', b'{"id": "x", "poolInfo": {"poolId": 5}}',
              b'{"id": "y", "poolInfo": {"poolId": "pool-etl"}, "constraints": [1]}',
              b'{"id": "z", "commandLine": "x", "environmentSettings": [{"name": 1}]}']
    assert _raw(f"{base}/jobs?api-version=2025-06-01", sandbox, token, "POST",
                b'{"id": "x-job", "poolInfo": {"poolId": "pool-etl"}}')[0] == 201
    routes = [r for r in router.routes if r.plane == BATCH and r.method != "HEAD"]
    assert len(routes) >= 14
    for route in routes:
        path = re.sub(r"\{(\w+)(:path)?\}", lambda m: "x-" + m.group(1), route.template)
        for body in bodies if route.method == "POST" else [None]:
            status, answer = _raw(f"{base}{path}?api-version=2025-06-01", sandbox, token, route.method, body)
            assert status < 500, (route.method, route.template, body, answer)
            if status >= 400:
                assert answer["code"] and answer["message"]["value"] and "odata.metadata" in answer, answer
