"""The sandbox's realism switches, each seen through the real SDK clients: per-call latency from a profile, LRO
durations from it, faults (429 and 503 with Retry-After, 500, dropped connections; counted or at a seeded rate),
the PrincipalNotFound window closing by the clock, and a grant made through ARM reaching the vault data plane
only after `rbac_propagation_s` (each window long, and the record's creation moved back instead of waiting it
out, so no call races a clock). Also the `--latency` and `--faults` grammar and its errors.
Holding a window open for as long as a test likes (`Realism.hold`): test_holds.py.

Covered elsewhere, not repeated here:
- PrincipalNotFound during the window and principalType as the fix: test_authorization.py
  (test_principal_not_found_window_and_principal_type_fix);
- RBAC propagation of a fresh grant and of access policies: test_keyvault_data.py
  (test_fresh_grant_waits_for_propagation, test_access_policy_vault_permissions_and_propagation);
- an LRO duration set directly (RegisteringDns while the vault is created): test_keyvault_mgmt.py
  (test_create_is_long_running_registering_dns_then_succeeded), and for ACI and Batch in their modules;
- vault names taken elsewhere and soft-deleted vault names: test_keyvault_mgmt.py
  (test_names_are_global_across_subscriptions_and_tenants, test_check_name_availability,
  test_soft_delete_conflict_and_recover_keep_the_vault, test_purge_protection_refuses_purge);
- `mi-wizard sandbox serve` refusing bad --faults/--latency with exit code 2: test_serve.py.
"""

from __future__ import annotations

import time
import uuid

import pytest
from azure.core.exceptions import HttpResponseError, ServiceResponseError
from azure.mgmt.resource.resources import ResourceManagementClient

from wizard.sandbox import directory
from wizard.sandbox.authz import ROLE_ASSIGNMENT
from wizard.sandbox.realism import Realism, parse_faults

PROFILE = "azure-typical"
SECRETS_OFFICER = "b86a8fe4-44ce-4948-aee5-eccb2c155cd7"
READER = "acdd72a7-3385-48ef-bd42-f606fba81ae7"


def _timed(call):
    start = time.monotonic()
    result = call()
    return result, time.monotonic() - start


def _operation_statuses(sandbox, operation: str, since: int) -> list[int]:
    """Statuses the sandbox answered for `operation` (0 = connection dropped without an answer)."""
    return [c.status for c in sandbox.calls[since:] if c.operation == operation]


def _no_retry_resources(profile, credential, sub_id) -> ResourceManagementClient:
    """A client that surfaces each answer instead of retrying it."""
    return ResourceManagementClient(credential, sub_id, retry_total=0, **profile.client_kwargs())


# ---- latency ---------------------------------------------------------------------------------------------------
def test_each_call_takes_at_least_its_operations_scaled_latency(sandbox, az):
    az.resources.resource_groups.get("rg-prefect-demo")  # sign in first: the token call has its own latency
    sandbox.realism.use_latency_profile(f"{PROFILE}:0.4")
    read_delay = sandbox.realism.latency_for("arm_get", "GET")
    write_delay = sandbox.realism.latency_for("resource_group_create", "PUT")
    assert (read_delay, write_delay) == (pytest.approx(0.25 * 0.4), pytest.approx(1.0 * 0.4))  # median x scale
    _, read_took = _timed(lambda: az.resources.resource_groups.get("rg-prefect-demo"))
    _, write_took = _timed(lambda: az.resources.resource_groups.create_or_update("rg-slow", {"location": "eastus"}))
    assert read_took >= read_delay and write_took >= write_delay
    # Calls the profile does not name: reads take a generic read's time, other writes none.
    assert sandbox.realism.latency_for("keyvault_secret_list", "GET") == pytest.approx(read_delay)
    assert sandbox.realism.latency_for("arm_write", "PATCH") == 0


def test_sampled_latency_is_drawn_around_the_median_and_repeats_with_the_seed():
    realism = Realism.from_options(latency=f"{PROFILE}:1:sampled")
    draws = []
    for _ in range(2):
        realism.reseed(11)
        draws.append([realism.latency_for("role_assignment_create", "PUT") for _ in range(40)])
    assert draws[0] == draws[1]
    assert len(set(draws[0])) == 40 and min(draws[0]) < 2.5 < max(draws[0])  # spread around the 2.5 s median


def test_vault_create_lasts_the_profiles_scaled_duration(sandbox, az):
    sandbox.realism.use_latency_profile(f"{PROFILE}:0.06")
    duration = sandbox.realism.lro_duration("keyvault_create")
    # keyvault_create_until_succeeded x scale: 1.5 s, longer than the SDK's 1 s poll (Retry-After: 1), so the
    # vault must still be in progress at the first poll for the result to take this long.
    assert duration == pytest.approx(25.0 * 0.06)
    params = {"location": "eastus", "properties": {"tenantId": sandbox.tenant_id,
                                                   "sku": {"family": "A", "name": "standard"}}}
    started = time.monotonic()
    poller = az.keyvault.vaults.begin_create_or_update("rg-prefect-demo", "kv-profiled", params)
    vault = poller.result()  # no "still in progress" check here: that would race the 1.5 s (test_holds.py does it)
    assert vault.properties.provisioning_state == "Succeeded" and poller.done()
    assert time.monotonic() - started >= duration


def test_a_profile_sets_the_propagation_windows_and_other_lro_durations():
    realism = Realism.from_options(latency=f"{PROFILE}:0.01")
    assert realism.principal_not_found_s == pytest.approx(15.0 * 0.01)
    assert realism.rbac_propagation_s == pytest.approx(30.0 * 0.01)
    assert realism.lro_duration("aci_create") == pytest.approx(40.0 * 0.01)
    assert realism.lro_duration("batch_resize_up") == pytest.approx(420.0 * 0.01)


# ---- faults ----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("kind", "answered", "retry_after"), [
    ("429", 429, True), ("503", 503, True), ("500", 500, False), ("drop", 0, False)])
def test_one_fault_is_retried_by_the_sdk_and_the_call_succeeds(sandbox, az, kind, answered, retry_after):
    az.resources.resource_groups.get("rg-prefect-demo")  # signed in, so only the call under test is counted
    mark = len(sandbox.calls)
    sandbox.realism.add_fault("arm_get", kind, count=1)
    group, took = _timed(lambda: az.resources.resource_groups.get("rg-prefect-demo"))
    assert group.name == "rg-prefect-demo"
    assert _operation_statuses(sandbox, "arm_get", mark) == [answered, 200]
    if retry_after:
        assert took >= 1.0  # the SDK waited the Retry-After: 1 the sandbox sent


def test_fault_answers_are_azures(sandbox, profile, credential, sub_id):
    client = _no_retry_resources(profile, credential, sub_id)
    expected = {"429": ("TooManyRequests", "1"), "503": ("ServiceUnavailable", "1"),
                "500": ("InternalServerError", None)}  # Retry-After only on 429 and 503 (AZURE_FACTS 0.3)
    for kind, (code, retry_after) in expected.items():
        sandbox.realism.add_fault("arm_get", kind, count=1)
        with pytest.raises(HttpResponseError) as err:
            client.resource_groups.get("rg-prefect-demo")
        assert (err.value.status_code, err.value.error.code) == (int(kind), code)
        assert err.value.response.headers.get("Retry-After") == retry_after
    sandbox.realism.add_fault("arm_get", "drop", count=1)
    with pytest.raises(ServiceResponseError):
        client.resource_groups.get("rg-prefect-demo")
    assert client.resource_groups.get("rg-prefect-demo").name == "rg-prefect-demo"  # counted faults are used up


def test_faults_hit_only_their_operation_and_a_write_is_retried_too(sandbox, az):
    az.resources.resource_groups.get("rg-prefect-demo")
    mark = len(sandbox.calls)
    sandbox.realism.faults, _ = parse_faults("resource_group_create:500*2")
    assert az.resources.resource_groups.get("rg-prefect-demo").name == "rg-prefect-demo"
    created = az.resources.resource_groups.create_or_update("rg-flaky", {"location": "eastus"})
    assert created.properties.provisioning_state == "Succeeded"
    assert _operation_statuses(sandbox, "arm_get", mark) == [200]
    assert _operation_statuses(sandbox, "resource_group_create", mark) == [500, 500, 201]


def _failure_pattern(sandbox, client, spec: str) -> list[bool]:
    configured = Realism.from_options(faults=spec)
    sandbox.realism.faults = configured.faults
    sandbox.realism.reseed(configured.seed)
    pattern = []
    for _ in range(20):
        try:
            client.resource_groups.get("rg-prefect-demo")
            pattern.append(False)
        except HttpResponseError as err:
            assert err.status_code == 500
            pattern.append(True)
    return pattern


def test_a_seeded_fault_rate_fails_the_same_calls_on_every_run(sandbox, profile, credential, sub_id):
    client = _no_retry_resources(profile, credential, sub_id)
    client.resource_groups.get("rg-prefect-demo")
    first = _failure_pattern(sandbox, client, "arm_get:500@0.3,seed=7")
    second = _failure_pattern(sandbox, client, "arm_get:500@0.3,seed=7")
    other_seed = _failure_pattern(sandbox, client, "arm_get:500@0.3,seed=8")
    assert first == second
    assert 0 < sum(first) < len(first)  # a rate, not always or never
    assert other_seed != first


# ---- Azure's eventual consistency ------------------------------------------------------------------------------
def _assignment(sub_id: str, role: str, principal_id: str, principal_type: str | None) -> dict:
    props = {"roleDefinitionId": f"/subscriptions/{sub_id}/providers/Microsoft.Authorization/roleDefinitions/{role}",
             "principalId": principal_id}
    if principal_type:
        props["principalType"] = principal_type
    return {"properties": props}


def _age(sandbox, kind: str, key: str, seconds: float, *path: str) -> None:
    """Move a stored record's creation time `seconds` into the past: the sandbox's clock reads as if that much time
    had passed since, with no test waiting (or racing) a wall-clock window."""
    with sandbox.store.transaction():
        record = sandbox.store.get(kind, key)
        holder = record
        for step in path[:-1]:
            holder = holder[step]
        holder[path[-1]] -= seconds
        sandbox.store.put(kind, key, record)


@pytest.mark.parametrize("principal_type_skips_window", [True, False])
def test_principal_not_found_window_closes_by_the_clock(sandbox, az, sub_id, principal_type_skips_window):
    """Without principalType (or, in the rarer case Azure shows, even with it) a new identity is unknown to role
    assignments for `principal_not_found_s` after its creation; once that has passed the same request succeeds."""
    sandbox.realism.principal_not_found_s = 600.0  # open at the first call however slow the machine is
    sandbox.realism.principal_type_skips_window = principal_type_skips_window
    principal_type = None if principal_type_skips_window else "ServicePrincipal"
    identity = az.msi.user_assigned_identities.create_or_update("rg-platform", "id-new", {"location": "northeurope"})
    scope = f"/subscriptions/{sub_id}/resourceGroups/rg-platform"

    def assign_reader():
        return az.authorization.role_assignments.create(
            scope, str(uuid.uuid4()), _assignment(sub_id, READER, identity.principal_id, principal_type))

    with pytest.raises(HttpResponseError) as err:
        assign_reader()
    assert err.value.error.code == "PrincipalNotFound"
    _age(sandbox, directory.PRINCIPAL, identity.principal_id, 300.0, "created")
    with pytest.raises(HttpResponseError):  # halfway through the window
        assign_reader()
    _age(sandbox, directory.PRINCIPAL, identity.principal_id, 300.0, "created")
    assert assign_reader().principal_id == identity.principal_id


def test_a_grant_made_through_arm_reaches_the_data_plane_after_the_propagation_delay(sandbox, az, sub_id):
    sandbox.realism.rbac_propagation_s = 600.0  # open at the first call however slow the machine is
    params = {"location": "eastus", "properties": {"tenantId": sandbox.tenant_id,
                                                   "sku": {"family": "A", "name": "standard"}}}
    vault = az.keyvault.vaults.begin_create_or_update("rg-shared-secrets", "kv-propagating", params).result()
    secrets = az.secrets(vault.properties.vault_uri)
    with pytest.raises(HttpResponseError) as err:  # Owner has no dataActions: refused before any grant
        secrets.set_secret("db-password", "s3cret")
    assert err.value.status_code == 403
    grant = az.authorization.role_assignments.create(vault.id, str(uuid.uuid4()), _assignment(
        sub_id, SECRETS_OFFICER, sandbox.operator()["objectId"], "ServicePrincipal"))
    with pytest.raises(HttpResponseError) as err:
        secrets.set_secret("db-password", "s3cret")
    assert err.value.status_code == 403 and "propagation" in err.value.error.message
    _age(sandbox, ROLE_ASSIGNMENT, grant.name, 300.0, "_sandbox", "created")
    with pytest.raises(HttpResponseError):  # halfway through the delay
        secrets.set_secret("db-password", "s3cret")
    _age(sandbox, ROLE_ASSIGNMENT, grant.name, 300.0, "_sandbox", "created")
    assert secrets.set_secret("db-password", "s3cret").value == "s3cret"


# ---- the option grammar ----------------------------------------------------------------------------------------
def test_fault_spec_grammar():
    rules, seed = parse_faults("keyvault_create:429*2, *:503@0.05 ,aci_create:drop,seed=7")
    assert seed == 7
    assert [(r.operation, r.kind, r.count, r.rate) for r in rules] == [
        ("keyvault_create", "429", 2, None), ("*", "503", None, 0.05), ("aci_create", "drop", 1, None)]
    assert all(r.retry_after == 1 for r in rules)  # never 0: the SDK would then sleep 30 s
    assert parse_faults("") == ([], None)
    realism = Realism.from_options(faults="arm_get:500@0.5,seed=3")
    assert realism.seed == 3 and realism.faults[0].rate == 0.5


@pytest.mark.parametrize(("spec", "message"), [
    ("nonsense", "fault 'nonsense' is not OP:KIND[*COUNT|@RATE]"),
    ("arm_get:", "fault 'arm_get:' is not OP:KIND"),
    ("arm_get:418", "unknown fault kind '418' in 'arm_get:418': use one of 429, 500, 503, drop"),
    ("arm_get:429*two", "COUNT in 'arm_get:429*two' must be a whole number of at least 1"),
    ("arm_get:429*0", "COUNT in 'arm_get:429*0' must be a whole number of at least 1"),
    ("arm_get:500@1.5", "RATE in 'arm_get:500@1.5' must be a number above 0 and at most 1"),
    ("arm_get:500@often", "RATE in 'arm_get:500@often'"),
    ("arm_get:500,seed=x", "the seed in 'seed=x' must be a whole number"),
])
def test_bad_fault_specs_are_refused_with_the_part_named(spec, message):
    with pytest.raises(ValueError) as err:
        Realism.from_options(faults=spec)
    assert message in str(err.value)


def test_unknown_operations_are_refused_when_the_names_are_known():
    with pytest.raises(ValueError) as err:
        parse_faults("keyvault_craete:429", known_operations={"keyvault_create", "arm_get"})
    assert str(err.value) == ("unknown operation 'keyvault_craete' in fault 'keyvault_craete:429': use * or one of "
                              "arm_get, keyvault_create")
    assert parse_faults("*:429,arm_get:500", known_operations={"arm_get"})[0][1].operation == "arm_get"


def test_latency_spec_grammar_and_errors():
    plain = Realism.from_options(latency=PROFILE)
    assert (plain.latency_scale, plain.latency_sampled) == (1.0, False)
    assert plain.lro_duration("keyvault_create") == pytest.approx(25.0)
    scaled = Realism.from_options(latency=f"{PROFILE}:0.05:sampled")
    assert (scaled.latency_scale, scaled.latency_sampled) == (0.05, True)
    for spec, message in ((f"{PROFILE}:fast", "latency scale 'fast' in 'azure-typical:fast' must be a number >= 0"),
                          (f"{PROFILE}:-1", "latency scale '-1'"),
                          ("nosuch:0.1", "unknown latency profile 'nosuch': use one of azure-typical")):
        with pytest.raises(ValueError) as err:
            Realism.from_options(latency=spec)
        assert message in str(err.value)
