"""A secret name held by a soft-deleted secret: the plan finds it and recovers it (default) or purges it, a
purge-protected vault refuses the purge before anything is written, and an operator who cannot see the deleted
secret is told what to do instead of "Conflict"."""

from __future__ import annotations

import threading

import pytest

from wizard.engine import PlanError, RunFailed, verify_setup
from wizard.sandbox.providers.keyvault_data_deleted import soft_deleted_secret
from wizard.sandbox.seed import assign

from .conftest import SECRET_VALUE, assert_secret_nowhere, build_spec

SECRETS_OFFICER = "b86a8fe4-44ce-4948-aee5-eccb2c155cd7"
OLD_VALUE = "the-value-before-it-was-deleted"
GROUP, VAULT, SECRET = "rg-prefect-demo", "kv-deleted-secret", "git-token"


def vault_with_a_deleted_secret(az, sandbox, *, purge_protection: bool = False, officer: bool = True) -> str:
    """An RBAC vault whose secret `git-token` was deleted; the operator (who deleted it) is Secrets Officer."""
    props = {"tenantId": sandbox.tenant_id, "sku": {"family": "A", "name": "standard"},
             "enableRbacAuthorization": True, **({"enablePurgeProtection": True} if purge_protection else {})}
    vault = az.keyvault.vaults.begin_create_or_update(GROUP, VAULT, {"location": "eastus",
                                                                    "properties": props}).result()
    soft_deleted_secret(sandbox, VAULT, SECRET, OLD_VALUE)
    if officer:
        assign(sandbox, vault.id, SECRETS_OFFICER, sandbox.operator()["objectId"], "officer-on-deleted-secret-vault",
               principal_type="ServicePrincipal")
    return str(vault.properties.vault_uri)


def spec_for(**secret):
    return build_spec(vault={"name": VAULT, "resource_group": GROUP}, secret={"name": SECRET, **secret},
                      target={"kind": "none"})


def versions(az, vault_uri: str) -> list[str]:
    return [v.version for v in az.secrets(vault_uri).list_properties_of_secret_versions(SECRET)]


def test_a_deleted_secret_is_recovered_by_default_then_the_new_value_is_a_new_version(harness, sandbox, az, tmp_path):
    vault_uri = vault_with_a_deleted_secret(az, sandbox)
    engine = harness.engine(spec_for())
    plan = engine.plan()
    item = plan.item("secret")
    assert item.action == "recover" and not plan.problems, plan.problems
    assert "was deleted on" in item.reason and "recovered" in item.reason and "a new version" in item.reason
    # Recovery is asynchronous on Azure: hold it, and the apply waits for it (visibly) instead of failing.
    secret_id = f"{az.keyvault.vaults.get(GROUP, VAULT).id}/secrets/{SECRET}"
    with sandbox.realism.hold("lro:keyvault_secret_recover", key=secret_id) as recovering:
        run = harness.engine(spec_for())
        done = threading.Thread(target=run.apply)
        done.start()
        assert recovering.wait_reached(times=2), "the apply did not wait for the recovery"
    done.join(60)
    assert run.state.step("secret").status == "done"
    assert any("Recovering the deleted secret" in getattr(e, "text", "") for e in harness.sinks[-1].events)
    client = az.secrets(vault_uri)
    assert client.get_secret(SECRET).value == SECRET_VALUE
    assert len(versions(az, vault_uri)) == 2  # the recovered version is kept, the new one is on top
    assert run.state.step("secret").outputs["version"] == client.get_secret(SECRET).properties.version
    assert verify_setup(run).passed
    assert_secret_nowhere(harness.state_dir, tmp_path / "state")


def test_recover_without_a_value_keeps_the_recovered_secret(harness, sandbox, az):
    vault_uri = vault_with_a_deleted_secret(az, sandbox)
    engine = harness.engine(spec_for())
    engine.secret_source = None
    plan = engine.plan()
    assert plan.item("secret").action == "recover" and "as it was" in plan.item("secret").reason
    assert not plan.problems
    engine.apply(plan)
    assert az.secrets(vault_uri).get_secret(SECRET).value == OLD_VALUE
    assert verify_setup(engine).passed


def test_purge_destroys_the_deleted_secret_and_stores_the_value_anew(harness, sandbox, az):
    vault_uri = vault_with_a_deleted_secret(az, sandbox)
    engine = harness.engine(spec_for(if_soft_deleted="purge"))
    plan = engine.plan()
    item = plan.item("secret")
    assert item.action == "create" and "PURGED" in item.reason and not plan.problems
    # The purge is asynchronous too: the name stays refused ("being deleted") while it runs.
    secret_id = f"{az.keyvault.vaults.get(GROUP, VAULT).id}/secrets/{SECRET}"
    with sandbox.realism.hold("lro:keyvault_secret_purge", key=secret_id) as purging:
        done = threading.Thread(target=engine.apply, args=(plan,))
        done.start()
        assert purging.wait_reached(times=2), "the apply did not wait for the purge"
    done.join(60)
    assert engine.state.step("secret").status == "done"
    assert az.secrets(vault_uri).get_secret(SECRET).value == SECRET_VALUE
    assert len(versions(az, vault_uri)) == 1  # the old versions went with the purge
    assert verify_setup(engine).passed


def test_a_purge_protected_vault_refuses_the_purge_at_plan_time(harness, sandbox, az):
    vault_with_a_deleted_secret(az, sandbox, purge_protection=True)
    mark = len(sandbox.calls)
    engine = harness.engine(spec_for(if_soft_deleted="purge"))
    problems = engine.plan().problems
    assert len(problems) == 1 and problems[0].startswith("secret.if_soft_deleted:")
    assert "purge protection" in problems[0] and "Recover it" in problems[0]
    with pytest.raises(PlanError):
        engine.apply()
    assert harness.writes_since(mark) == []


def test_stop_names_the_choices(harness, sandbox, az):
    vault_with_a_deleted_secret(az, sandbox)
    problems = harness.engine(spec_for(if_soft_deleted="stop")).plan().problems
    assert len(problems) == 1 and "soft-deleted secret" in problems[0] and "if_soft_deleted" in problems[0]


def test_an_operator_without_recover_rights_is_told_before_anything_is_written(harness, sandbox, az):
    vault = vault_with_a_deleted_secret(az, sandbox, officer=False)
    reader = "21090545-7ca7-4776-b22c-e363652d74d2"  # Key Vault Reader: sees the deleted secret, cannot recover it
    assign(sandbox, az.keyvault.vaults.get(GROUP, VAULT).id, reader, sandbox.operator()["objectId"], "kv-reader")
    mark = len(sandbox.calls)
    problems = harness.engine(spec_for()).plan().problems
    assert len(problems) == 1 and "secrets/recover/action" in problems[0] and "Secrets Officer" in problems[0]
    assert harness.writes_since(mark) == [] and vault


def test_an_operator_who_cannot_see_the_deleted_secret_gets_the_cause_and_the_fix(harness, sandbox, az):
    vault_with_a_deleted_secret(az, sandbox, officer=False)  # an Owner has no data-plane read: the plan is blind
    engine = harness.engine(spec_for())
    item = engine.plan().item("secret")
    assert item.action == "create"
    assert any(d.startswith("Not checked: whether a soft-deleted secret holds the name git-token")
               for d in item.details), item.details  # the plan says what it could not see
    with pytest.raises(RunFailed) as failed:
        engine.apply()
    assert failed.value.code == "ObjectIsDeletedButRecoverable"
    assert "soft-deleted secret holds the name" in failed.value.explanation
    assert "az keyvault secret recover" in failed.value.fix and "Read the message above" not in failed.value.fix
