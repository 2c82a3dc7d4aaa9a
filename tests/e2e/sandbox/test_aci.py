"""Azure Container Instances in the sandbox through the real ContainerInstanceManagementClient over HTTPS:
container groups and their long-running create, identities, tags-only PATCH, redeploys, the updates Azure
refuses, logs, start/stop/restart, delete, and the probe really running inside a container group."""

from __future__ import annotations

import json
import time

import pytest
from azure.core.exceptions import HttpResponseError, ResourceExistsError, ResourceNotFoundError

from wizard import probe
from wizard.azure.clients import AzureClients, make_credential
from wizard.sandbox import directory
from wizard.sandbox.seed import assign

RG, LOC = "rg-prefect-demo", "eastus"
CONTRIBUTOR = "b24988ac-6180-42a0-ab88-20f7382dd24c"


def _body(*, image="python:3.12", command=None, identity=None, restart="Always", cpu=1.0, memory=1.5, env=None,
          ports=None, tags=None, name="main", extra_containers=()) -> dict:
    container = {"name": name, "properties": {"image": image, "command": command or ["sleep", "infinity"],
                                              "environmentVariables": env or [],
                                              "resources": {"requests": {"cpu": cpu, "memoryInGB": memory}}}}
    if ports:
        container["properties"]["ports"] = [{"port": p} for p in ports]
    body = {"location": LOC, "tags": tags or {}, "properties": {"containers": [container, *extra_containers],
                                                                "osType": "Linux", "restartPolicy": restart}}
    if identity is not None:
        body["identity"] = identity
    return body


def _uai(*ids) -> dict:
    return {"type": "UserAssigned", "userAssignedIdentities": {i: {} for i in ids}}


def _identity(az, name, group=RG):
    return az.msi.user_assigned_identities.create_or_update(group, name, {"location": LOC})


def _create(az, name, body, group=RG):
    return az.aci.container_groups.begin_create_or_update(group, name, body).result()


def _wait_state(az, name, states=("Succeeded", "Failed"), timeout=20.0, group=RG):
    """Poll the group until its instance view reaches one of `states` (the probe runs as a real process)."""
    deadline = time.monotonic() + timeout
    while True:
        cg = az.aci.container_groups.get(group, name)
        if cg.instance_view and cg.instance_view.state in states:
            return cg
        assert time.monotonic() < deadline, f"group {name} stayed {cg.instance_view.state}"
        time.sleep(0.05)


# ---- container groups ---------------------------------------------------------------------------------------
def test_demo_prefect_worker_is_running(az):
    cg = az.aci.container_groups.get(RG, "cg-prefect-worker")
    assert (cg.provisioning_state, cg.instance_view.state, cg.location) == ("Succeeded", "Running", "eastus")
    assert cg.identity is None and cg.restart_policy == "Always" and cg.os_type == "Linux"
    worker = cg.containers[0]
    assert worker.image == "prefecthq/prefect:3-latest"
    assert worker.command == ["prefect", "worker", "start", "--pool", "aci-pool"]
    assert (worker.resources.requests.cpu, worker.resources.requests.memory_in_gb) == (1.0, 1.5)
    assert worker.instance_view.current_state.state == "Running" and worker.instance_view.current_state.start_time
    logs = az.aci.containers.list_logs(RG, "cg-prefect-worker", worker.name).content
    assert logs == "prefecthq/prefect:3-latest started\n"


def test_create_is_a_long_running_operation_and_fills_identity_ids(sandbox, az):
    ident = _identity(az, "id-aci-lro")
    with sandbox.realism.hold("lro:aci_create") as creating:  # in progress until the SDK has polled it twice
        poller = az.aci.container_groups.begin_create_or_update(RG, "cg-lro", _body(identity=_uai(ident.id)))
        assert creating.wait_reached(timeout=30, times=3) and not poller.done()
    cg = poller.result()
    assert cg.provisioning_state == "Succeeded" and cg.instance_view.state == "Running"
    assert cg.containers[0].instance_view.current_state.state == "Running"
    assert cg.identity.type == "UserAssigned"
    entry = cg.identity.user_assigned_identities[ident.id]
    assert (entry.principal_id, entry.client_id) == (ident.principal_id, ident.client_id)
    polled = [c for c in sandbox.arm_calls() if "/locations/eastus/operations/" in c.path]
    assert len(polled) >= 2 and all(c.status == 200 for c in polled)


def test_create_response_and_status_document_shapes(sandbox, az, credential, sub_id):
    from tests.e2e.sandbox.test_core import _raw
    sandbox.realism.hold("lro:aci_create")  # stays in progress for the whole test (the sandbox ends with it)
    token = credential.get_token("https://management.azure.com/.default").token
    path = f"/subscriptions/{sub_id}/resourceGroups/{RG}/providers/Microsoft.ContainerInstance/containerGroups/cg-raw"
    status, headers, body = _raw(sandbox, "PUT", path + "?api-version=2023-05-01", json.dumps(_body()).encode(), token,
                                 {"Content-Type": "application/json"})
    assert status == 201 and headers["Retry-After"] == "1"
    assert json.loads(body)["properties"]["provisioningState"] == "Pending"
    op_url = headers["Azure-AsyncOperation"]
    assert f"/subscriptions/{sub_id}/providers/Microsoft.ContainerInstance/locations/eastus/operations/" in op_url
    status, _, body = _raw(sandbox, "GET", op_url[len(sandbox.arm_url):], token=token)
    assert status == 200 and json.loads(body)["status"] == "InProgress"
    with pytest.raises(ResourceExistsError) as err:  # Azure refuses a redeploy while the group is transitioning
        _create(az, "cg-raw", _body())
    assert err.value.error.code == "ContainerGroupTransitioning"


def test_list_by_group_and_subscription(az):
    _create(az, "cg-listed", _body())
    assert {g.name for g in az.aci.container_groups.list_by_resource_group(RG)} == {"cg-prefect-worker", "cg-listed"}
    assert {g.name for g in az.aci.container_groups.list()} >= {"cg-prefect-worker", "cg-listed"}
    with pytest.raises(ResourceNotFoundError) as err:
        list(az.aci.container_groups.list_by_resource_group("rg-nowhere"))
    assert err.value.error.code == "ResourceGroupNotFound"
    with pytest.raises(ResourceNotFoundError) as err:
        az.aci.container_groups.get(RG, "cg-missing")
    assert err.value.error.code == "ResourceNotFound"


def test_patch_changes_tags_only(sandbox, az, credential, sub_id):
    from azure.mgmt.containerinstance.models import Resource

    from tests.e2e.sandbox.test_core import _raw
    ident = _identity(az, "id-aci-patch")
    _create(az, "cg-tags", _body(tags={"team": "data"}))
    updated = az.aci.container_groups.update(RG, "cg-tags", Resource(tags={"team": "platform", "env": "dev"}))
    assert updated.tags == {"team": "platform", "env": "dev"}
    token = credential.get_token("https://management.azure.com/.default").token
    path = (f"/subscriptions/{sub_id}/resourceGroups/{RG}/providers/Microsoft.ContainerInstance/containerGroups/"
            "cg-tags?api-version=2023-05-01")
    patch = {"tags": {"env": "prod"}, "identity": _uai(ident.id), "properties": {"restartPolicy": "Never"}}
    status, _, _ = _raw(sandbox, "PATCH", path, json.dumps(patch).encode(), token, {"Content-Type": "application/json"})
    assert status == 200
    cg = az.aci.container_groups.get(RG, "cg-tags")
    assert cg.tags == {"env": "prod"} and cg.identity is None and cg.restart_policy == "Always"


def test_redeploy_with_an_identity_keeps_properties_and_restarts(az):
    ident = _identity(az, "id-aci-redeploy")
    env = [{"name": "MODE", "value": "worker"}]
    first = _create(az, "cg-redeploy", _body(env=env, tags={"team": "data"}, ports=[8080]))
    started = first.containers[0].instance_view.current_state.start_time
    desired = az.aci.container_groups.get(RG, "cg-redeploy")  # the tool's way: GET, add the identity, PUT it all
    desired.identity = {"type": "UserAssigned", "user_assigned_identities": {ident.id: {}}}
    second = az.aci.container_groups.begin_create_or_update(RG, "cg-redeploy", desired).result()
    assert second.identity.user_assigned_identities[ident.id].client_id == ident.client_id
    c = second.containers[0]
    assert (c.image, c.command, second.tags) == ("python:3.12", ["sleep", "infinity"], {"team": "data"})
    assert [(e.name, e.value) for e in c.environment_variables] == [("MODE", "worker")]
    assert [p.port for p in c.ports] == [8080]
    assert c.instance_view.restart_count == 1 and c.instance_view.current_state.start_time > started
    assert c.instance_view.previous_state.state == "Terminated"


def test_properties_that_need_delete_and_recreate_are_refused(az):
    _create(az, "cg-fixed", _body(ports=[80]))
    os_changed = _body(ports=[80])
    os_changed["properties"]["osType"] = "Windows"
    for body in (_body(cpu=2.0, ports=[80]), _body(memory=3.0, ports=[80]), _body(restart="OnFailure", ports=[80]),
                 _body(ports=[443]), os_changed):
        with pytest.raises(ResourceExistsError) as err:
            _create(az, "cg-fixed", body)
        assert err.value.status_code == 409 and err.value.error.code == "InvalidContainerGroupUpdate"
        assert "you must delete it first and then create a new one" in err.value.error.message
    cg = az.aci.container_groups.get(RG, "cg-fixed")
    assert (cg.containers[0].resources.requests.cpu, cg.os_type, cg.restart_policy) == (1.0, "Linux", "Always")


def test_terminated_run_once_group_refuses_update_until_recreated(sandbox, az):
    # The probe without any identity fails at IMDS and exits 1: a run-once group that has terminated.
    command = probe.probe_command("https://127.0.0.1:9/", "s")
    _create(az, "cg-once", _body(command=command, restart="Never"))
    done = _wait_state(az, "cg-once")
    state = done.containers[0].instance_view.current_state
    assert (done.instance_view.state, state.state, state.exit_code, state.detail_status) == \
        ("Failed", "Terminated", 1, "Error")
    ident = _identity(az, "id-aci-once")
    with pytest.raises(ResourceExistsError) as err:
        _create(az, "cg-once", _body(command=command, restart="Never", identity=_uai(ident.id)))
    assert err.value.error.code == "InvalidContainerGroupUpdate" and "terminated" in err.value.error.message
    az.aci.container_groups.begin_delete(RG, "cg-once").result()
    again = _create(az, "cg-once", _body(command=command, restart="Never", identity=_uai(ident.id)))
    assert again.identity.user_assigned_identities[ident.id].principal_id == ident.principal_id


def _set(path):
    """A body mutation: set the value at path[:-1] to path[-1], or delete the key when the value is None."""
    def mutate(body):
        node = body
        for key in path[:-2]:
            node = node[key]
        if path[-1] is None:
            del node[path[-2]]
        else:
            node[path[-2]] = path[-1]
    return mutate


CONTAINER = ("properties", "containers", 0, "properties")


VALIDATION_CASES = [
    ("Upper", None, "InvalidContainerGroupName"),
    ("-lead", None, "InvalidContainerGroupName"),
    ("trail-", None, "InvalidContainerGroupName"),
    ("dou--ble", None, "InvalidContainerGroupName"),
    ("a" * 64, None, "InvalidContainerGroupName"),
    ("cg-bad", ("location", "moonbase"), "LocationNotAvailableForResourceType"),
    ("cg-bad", ("properties", "containers", []), "ContainerGroupContainersRequired"),
    ("cg-bad", (*CONTAINER, "image", None), "InvalidRequestContent"),
    ("cg-bad", (*CONTAINER, "image", "Not An Image"), "InvalidImageName"),
    ("cg-bad", (*CONTAINER, "resources", "requests", "cpu", None), "InvalidRequestContent"),
    ("cg-bad", (*CONTAINER, "resources", "requests", "memoryInGB", None), "InvalidRequestContent"),
    ("cg-bad", ("properties", "osType", "Solaris"), "InvalidRequestContent"),
    ("cg-bad", ("properties", "restartPolicy", "Sometimes"), "InvalidRequestContent"),
    ("cg-bad", ("properties", "containers", 0, "name", "Bad_Name"), "InvalidContainerName"),
]


def test_validation_errors(az):
    assert _create(az, "a" * 63, _body()).name == "a" * 63  # the longest valid name
    for name, change, code in VALIDATION_CASES:
        body = _body()
        if change:
            _set(change)(body)
        with pytest.raises(HttpResponseError) as err:
            _create(az, name, body)
        assert (err.value.status_code, err.value.error.code) == (400, code), (name, change)
        with pytest.raises(ResourceNotFoundError):  # nothing was created
            az.aci.container_groups.get(RG, name)


def test_missing_identity_error_names_it_and_missing_group(az, sub_id):
    ghost = f"/subscriptions/{sub_id}/resourceGroups/{RG}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/ghost"
    with pytest.raises(HttpResponseError) as err:
        _create(az, "cg-ghost", _body(identity=_uai(ghost)))
    assert err.value.error.code == "FailedIdentityOperation" and ghost in err.value.error.message
    with pytest.raises(HttpResponseError) as err:
        _create(az, "cg-ghost", _body(identity={"type": "SystemAssigned", "userAssignedIdentities": {ghost: {}}}))
    assert "non-UserAssigned identity type should not contain" in err.value.error.message
    with pytest.raises(ResourceNotFoundError) as err:
        _create(az, "cg-x", _body(), group="rg-nowhere")
    assert err.value.error.code == "ResourceGroupNotFound"


def test_identity_on_another_group_needs_assign_permission(sandbox, profile, az, sub_id):
    ident = _identity(az, "id-elsewhere", group="rg-shared-secrets")
    op = sandbox.add_operator("aci-rg-contrib", "Contributor on rg-prefect-demo only")
    assign(sandbox, f"/subscriptions/{sub_id}/resourceGroups/{RG}", CONTRIBUTOR, op["objectId"], "aci-rg-contrib")
    prof = profile.with_operator(op["clientId"], op["clientSecret"])
    limited = AzureClients(prof, make_credential(prof), sub_id)
    with pytest.raises(HttpResponseError) as err:
        _create(limited, "cg-linked", _body(identity=_uai(ident.id)))
    assert (err.value.status_code, err.value.error.code) == (403, "LinkedAuthorizationFailed")
    assert _create(limited, "cg-linked", _body()).provisioning_state == "Succeeded"


def test_system_assigned_identity_gets_a_principal_removed_with_the_group(sandbox, az):
    ident = _identity(az, "id-aci-both")
    cg = _create(az, "cg-system", _body(identity={"type": "SystemAssigned, UserAssigned",
                                                  "userAssignedIdentities": {ident.id: {}}}))
    assert cg.identity.type == "SystemAssigned, UserAssigned"
    assert cg.identity.tenant_id == sandbox.tenant_id
    principal = directory.principal(sandbox.store, cg.identity.principal_id)
    assert principal is not None and principal["managedIdentityId"] == cg.id
    assert cg.identity.user_assigned_identities[ident.id].principal_id == ident.principal_id
    again = _create(az, "cg-system", _body(identity={"type": "SystemAssigned"}))  # the principal survives a redeploy
    assert again.identity.principal_id == cg.identity.principal_id and not again.identity.user_assigned_identities
    az.aci.container_groups.begin_delete(RG, "cg-system").result()
    assert directory.principal(sandbox.store, cg.identity.principal_id) is None


def test_inaccessible_image_fails_the_operation(sandbox, az):
    with sandbox.realism.hold("lro:aci_create") as creating:  # the failure is reported by a status poll
        poller = az.aci.container_groups.begin_create_or_update(RG, "cg-noimage", _body(image="invalid/does-not-exist"))
        assert creating.wait_reached(timeout=30)
    with pytest.raises(HttpResponseError) as err:
        poller.result()
    assert err.value.error.code == "InaccessibleImage"
    assert "invalid/does-not-exist" in err.value.error.message
    cg = az.aci.container_groups.get(RG, "cg-noimage")
    assert cg.provisioning_state == "Failed" and cg.containers[0].instance_view.current_state.state == "Waiting"


def test_logs_tail_timestamps_and_missing_container(az):
    sidecar = {"name": "sidecar", "properties": {"image": "busybox", "resources": {"requests": {"cpu": 0.5,
                                                                                             "memoryInGB": 0.5}}}}
    _create(az, "cg-logs", _body(extra_containers=[sidecar]))
    assert az.aci.containers.list_logs(RG, "cg-logs", "sidecar").content == "busybox started\n"
    assert az.aci.containers.list_logs(RG, "cg-logs", "main", tail=0).content == ""
    stamped = az.aci.containers.list_logs(RG, "cg-logs", "main", timestamps=True).content
    assert stamped.endswith(" python:3.12 started\n") and stamped[:4].isdigit()
    with pytest.raises(ResourceNotFoundError) as err:
        az.aci.containers.list_logs(RG, "cg-logs", "nope")
    assert err.value.error.code == "ContainerNotFound"


def test_stop_start_restart(az):
    _create(az, "cg-cycle", _body())
    az.aci.container_groups.stop(RG, "cg-cycle")
    stopped = az.aci.container_groups.get(RG, "cg-cycle")
    assert stopped.instance_view.state == "Stopped"
    assert stopped.containers[0].instance_view.current_state.state == "Terminated"
    with pytest.raises(ResourceExistsError) as err:  # a stopped group is terminated: no update
        _create(az, "cg-cycle", _body(tags={"x": "y"}))
    assert err.value.error.code == "InvalidContainerGroupUpdate"
    az.aci.container_groups.begin_start(RG, "cg-cycle").result()
    started = az.aci.container_groups.get(RG, "cg-cycle")
    assert started.instance_view.state == "Running" and started.containers[0].instance_view.restart_count == 0
    az.aci.container_groups.begin_restart(RG, "cg-cycle").result()
    restarted = az.aci.container_groups.get(RG, "cg-cycle").containers[0].instance_view
    assert restarted.restart_count == 1 and restarted.current_state.state == "Running"


def test_delete_at_once_and_as_long_running_operation(sandbox, az):
    _create(az, "cg-del", _body())
    deleted = az.aci.container_groups.begin_delete(RG, "cg-del").result()
    assert deleted.name == "cg-del"
    with pytest.raises(ResourceNotFoundError):
        az.aci.container_groups.get(RG, "cg-del")
    az.aci.container_groups.begin_delete(RG, "cg-del").result()  # deleting what is gone is not an error (204)
    _create(az, "cg-del2", _body())
    with sandbox.realism.hold("lro:aci_delete") as deleting:
        poller = az.aci.container_groups.begin_delete(RG, "cg-del2")
        assert az.aci.container_groups.get(RG, "cg-del2").provisioning_state == "Deleting"
        assert deleting.wait_reached(timeout=30, times=2) and not poller.done()
    poller.result()
    with pytest.raises(ResourceNotFoundError):
        az.aci.container_groups.get(RG, "cg-del2")


# ---- the probe inside a container group -----------------------------------------------------------------------
SECRETS_USER = "4633458b-17de-408a-b874-0445c86b69e6"
SECRETS_OFFICER = "b86a8fe4-44ce-4948-aee5-eccb2c155cd7"
SECRET_VALUE = "ghp_sandboxProbeValue0123456789"


@pytest.fixture
def vault(sandbox, az):
    """An RBAC vault holding one secret: (vault id, vault URL, the secret's version)."""
    created = az.keyvault.vaults.begin_create_or_update(RG, "kv-probe-aci", {
        "location": LOC, "properties": {"tenantId": sandbox.tenant_id, "sku": {"family": "A", "name": "standard"},
                                        "enableRbacAuthorization": True}}).result()
    assign(sandbox, created.id, SECRETS_OFFICER, sandbox.operator()["objectId"], "officer:kv-probe-aci")
    secret = az.secrets(created.properties.vault_uri).set_secret("git-token", SECRET_VALUE)
    return created.id, created.properties.vault_uri, secret.properties.version


def _start_probe(az, name, vault_url, identity_ids, client_id=None, env=None):
    command = probe.probe_command(vault_url, "git-token", client_id)
    _create(az, name, _body(command=command, restart="Never", env=env,
                            identity=_uai(*identity_ids) if identity_ids else None))


def _verdict(az, name):
    cg = _wait_state(az, name)
    logs = az.aci.containers.list_logs(RG, name, "main").content
    return cg, logs, probe.parse_verdict(logs)


def test_probe_reads_the_secret_with_a_grant_and_never_shows_it(sandbox, az, vault):
    vault_id, vault_url, version = vault
    ident = _identity(az, "id-probe-ok")
    assign(sandbox, vault_id, SECRETS_USER, ident.principal_id, "grant:probe-ok")
    # The client id travels as a secure environment variable, as the engine may send it.
    _start_probe(az, "cg-probe-ok", vault_url, [ident.id], env=[{"name": "AZURE_CLIENT_ID", "secureValue": ident.client_id}])
    cg, logs, verdict = _verdict(az, "cg-probe-ok")
    assert verdict == {"ok": True, "stage": "vault", "status": 200, "code": None, "message": "", "version": version,
                       "client_id": ident.client_id, "attempts": 1, "transient": False,
                       "waited_s": verdict["waited_s"]}
    state = cg.containers[0].instance_view.current_state
    assert (cg.instance_view.state, state.state, state.exit_code, state.detail_status) == \
        ("Succeeded", "Terminated", 0, "Completed")
    assert cg.containers[0].environment_variables[0].value is None  # secure values are never answered back
    seen = logs + json.dumps(cg.as_dict()) + json.dumps(az.aci.container_groups.get(RG, "cg-probe-ok").as_dict())
    assert SECRET_VALUE not in seen and ident.client_id not in json.dumps(cg.containers[0].environment_variables[0].as_dict())


def test_probe_failure_verdicts(sandbox, az, vault):
    vault_id, vault_url, _ = vault
    lonely, one, two = (_identity(az, n) for n in ("id-probe-nogrant", "id-probe-one", "id-probe-two"))
    _start_probe(az, "cg-probe-nogrant", vault_url, [lonely.id], client_id=lonely.client_id)
    _start_probe(az, "cg-probe-wrongid", vault_url, [one.id], client_id="00000000-1111-2222-3333-444444444444")
    _start_probe(az, "cg-probe-two", vault_url, [one.id, two.id])
    _, _, no_grant = _verdict(az, "cg-probe-nogrant")
    assert (no_grant["ok"], no_grant["stage"], no_grant["status"], no_grant["code"]) == \
        (False, "vault", 403, "ForbiddenByRbac")
    _, _, wrong_id = _verdict(az, "cg-probe-wrongid")
    assert (wrong_id["stage"], wrong_id["status"], wrong_id["code"]) == ("imds", 400, "invalid_request")
    assert "Identity not found" in wrong_id["message"]
    cg, _, several = _verdict(az, "cg-probe-two")
    assert (several["stage"], several["status"], several["code"]) == ("imds", 400, "invalid_request")
    assert "Multiple user assigned identities" in several["message"]
    assert cg.containers[0].instance_view.current_state.exit_code == 1 and cg.instance_view.state == "Failed"


def test_probe_before_the_grant_propagates_is_forbidden_too(sandbox, az, vault):
    from wizard.sandbox.app import stable_id
    from wizard.sandbox.authz import ROLE_ASSIGNMENT, permitted
    vault_id, vault_url, _ = vault
    ident = _identity(az, "id-probe-early")
    sandbox.realism.hold("rbac_propagation", key=ident.principal_id)  # the grant is still on its way, however long
    assign(sandbox, vault_id, SECRETS_USER, ident.principal_id, "grant:probe-early")
    grant = sandbox.store.get(ROLE_ASSIGNMENT, stable_id("grant:probe-early"))
    grant["_sandbox"]["created"] = time.time()  # just granted
    sandbox.store.put(ROLE_ASSIGNMENT, grant["name"], grant)
    _start_probe(az, "cg-probe-early", vault_url, [ident.id], client_id=ident.client_id)
    _, _, verdict = _verdict(az, "cg-probe-early")
    assert (verdict["ok"], verdict["code"]) == (False, "ForbiddenByRbac")
    # The engine tells "not yet propagated" from "no grant" by the grant's existence:
    action = "Microsoft.KeyVault/vaults/secrets/getSecret/action"
    assert permitted(sandbox.store, ident.principal_id, action, vault_id + "/secrets/git-token", data=True) is not None


def test_managed_identity_credential_against_a_registered_caller(sandbox, az, monkeypatch):
    import base64

    from azure.core.exceptions import ClientAuthenticationError
    from azure.identity import ManagedIdentityCredential

    from wizard.sandbox.providers.imds import register_caller
    first, second = _identity(az, "id-mic-one"), _identity(az, "id-mic-two")
    monkeypatch.setenv("AZURE_POD_IDENTITY_AUTHORITY_HOST", register_caller(sandbox, "test", [first.id, second.id]))
    token = ManagedIdentityCredential(client_id=second.client_id).get_token("https://vault.azure.net/.default").token
    payload = token.split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    assert (claims["oid"], claims["appid"], claims["aud"]) == (second.principal_id, second.client_id,
                                                               "https://vault.azure.net")
    with pytest.raises(ClientAuthenticationError) as err:
        ManagedIdentityCredential().get_token("https://vault.azure.net/.default")
    assert "Multiple user assigned identities" in str(err.value)
    with pytest.raises(ClientAuthenticationError) as err:
        ManagedIdentityCredential(client_id="00000000-1111-2222-3333-444444444444").get_token(
            "https://vault.azure.net/.default")
    assert "Identity not found" in str(err.value)


def test_system_assigned_identity_probe_after_grant_and_restart(sandbox, az, vault):
    vault_id, vault_url, version = vault
    _create(az, "cg-probe-system", _body(command=probe.probe_command(vault_url, "git-token"), restart="Never",
                                         identity={"type": "SystemAssigned"}))
    cg, _, before = _verdict(az, "cg-probe-system")
    assert (before["stage"], before["code"]) == ("vault", "ForbiddenByRbac")
    assign(sandbox, vault_id, SECRETS_USER, cg.identity.principal_id, "grant:probe-system")
    az.aci.container_groups.begin_restart(RG, "cg-probe-system").result()
    cg, _, after = _verdict(az, "cg-probe-system")
    assert (after["ok"], after["version"]) == (True, version)
    assert cg.containers[0].instance_view.restart_count == 1


def test_running_probes_are_killed_on_delete_and_on_sandbox_stop(sandbox, az):
    import socket

    from wizard.sandbox import containers
    ident = _identity(az, "id-probe-hang")
    with socket.socket() as silent:  # accepts connections, never answers: the probe's vault call hangs
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        url = f"https://127.0.0.1:{silent.getsockname()[1]}/"
        for name in ("cg-hang-deleted", "cg-hang-stopped"):
            _start_probe(az, name, url, [ident.id], client_id=ident.client_id)
        runs = containers._runtime(sandbox).runs
        deadline = time.monotonic() + 10
        while len([r for r in runs if r.proc is not None]) < 2:
            assert time.monotonic() < deadline
            time.sleep(0.02)
        procs = {r.group_id.rsplit("/", 1)[-1]: r.proc for r in runs}
        az.aci.container_groups.begin_delete(RG, "cg-hang-deleted").result()
        assert procs["cg-hang-deleted"].wait(timeout=5) != 0
        assert procs["cg-hang-stopped"].poll() is None
        containers.stop_all(sandbox)  # what Sandbox.stop() does first
        assert procs["cg-hang-stopped"].poll() is not None and not containers._runtime(sandbox).runs
    state = az.aci.container_groups.get(RG, "cg-hang-stopped").containers[0].instance_view.current_state
    assert (state.state, state.exit_code, state.detail_status) == ("Terminated", 137, "Killed")
