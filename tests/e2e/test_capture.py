"""Capture: a setup made by hand through the SDK, with a deliberately broken link, becomes a spec; `apply
--sandbox` of that spec rebuilds it (under mapped names) broken the same way, and doctor on the original and on
the replay names the same broken links. A `[reproduce]` spec is refused off the sandbox before any write.
Through the real CLI entry point, against one running sandbox."""

from __future__ import annotations

import json
import uuid

import pytest

from wizard.cli import main
from wizard.spec import load_spec

SECRET = "capture-s3cret-never-in-the-spec"
RG, LOC = "rg-hand-made", "eastus"
SECRETS_USER = "4633458b-17de-408a-b874-0445c86b69e6"


@pytest.fixture
def cli(sandbox, tmp_path, monkeypatch, capsys):
    descriptor = tmp_path / "sandbox.json"
    sandbox.write_descriptor(descriptor)
    monkeypatch.setenv("MI_WIZARD_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("CAPTURE_SECRET", SECRET)

    def run(*args: str, connect: bool = True) -> tuple[int, str]:
        code = main([*args, "--sandbox-descriptor", str(descriptor)] if connect else list(args))
        out = capsys.readouterr()
        text = out.out + out.err
        assert SECRET not in text and "Traceback" not in text, text
        return code, out.out if "--json" in args else text
    return run


def hand_made(az, sandbox, *, rbac: bool = True, grant: bool = True, attach: bool = True,
              wrong_client_id: bool = False, disabled: bool = False) -> dict[str, str]:
    """A customer's setup, made with the SDK as a person would: no mi-wizard involved."""
    az.resources.resource_groups.create_or_update(RG, {"location": LOC})
    identity = az.msi.user_assigned_identities.create_or_update(RG, "id-app", {"location": LOC})
    other = az.msi.user_assigned_identities.create_or_update(RG, "id-other", {"location": LOC})
    vault = az.keyvault.vaults.begin_create_or_update(RG, "kv-hand-made", {"location": LOC, "properties": {
        "tenantId": sandbox.tenant_id, "sku": {"family": "A", "name": "standard"}, "enableRbacAuthorization": rbac,
        "accessPolicies": [] if rbac or not grant else [{"tenantId": sandbox.tenant_id, "objectId": identity.principal_id,
                                                          "permissions": {"secrets": ["get"]}}]}}).result()
    az.keyvault.secrets.create_or_update(RG, "kv-hand-made", "db-password", {"properties": {
        "value": SECRET, "attributes": {"enabled": not disabled}}})
    if rbac and grant:
        az.authorization.role_assignments.create(
            f"{vault.id}/secrets/db-password", str(uuid.uuid4()), {"properties": {
                "roleDefinitionId": f"/subscriptions/{sandbox.subscription_ids[0]}/providers/Microsoft.Authorization/"
                                    f"roleDefinitions/{SECRETS_USER}",
                "principalId": identity.principal_id, "principalType": "ServicePrincipal"}})
    ids = ([identity.id] if attach else []) + ([other.id] if wrong_client_id or not attach else [])
    client_id = other.client_id if wrong_client_id else identity.client_id
    group = az.aci.container_groups.begin_create_or_update(RG, "cg-app", {
        "location": LOC, "identity": {"type": "UserAssigned", "userAssignedIdentities": {i: {} for i in ids}},
        "properties": {"osType": "Linux", "restartPolicy": "Always", "containers": [{"name": "app", "properties": {
            "image": "python:3.12", "command": ["sleep", "infinity"],
            "environmentVariables": [{"name": "AZURE_CLIENT_ID", "value": client_id},
                                     {"name": "APP_MODE", "value": "worker"}],
            "resources": {"requests": {"cpu": 1.0, "memoryInGB": 1.5}}}}]}}).result()
    return {"identity": identity.id, "group": group.id}


def doctor_findings(cli, identity: str, vault: str, group: str) -> list[str]:
    code, out = cli("doctor", "--identity", identity, "--vault", vault, "--secret", "db-password",
                    "--container-group", group, "--json")
    report = json.loads(out)
    assert code == (0 if report["passed"] else 5)
    return [link["link"] for link in report["links"] if not link["ok"]]


def replayed(cli, spec_path) -> dict[str, str]:
    code, out = cli("apply", str(spec_path), "--yes", "--secret-from", "env:CAPTURE_SECRET", "--json")
    result = json.loads(out)
    assert code == 5, result  # applied, then verification names the rebuilt broken links
    steps = json.loads(cli("status", load_spec(spec_path).name, "--offline", "--json")[1])["steps"]
    return {"identity": steps["identity"]["outputs"]["id"], "group": steps["aci"]["outputs"]["id"]}


@pytest.mark.parametrize("case,expected", [
    ({"grant": False}, ["grant", "probe"]),
    ({"wrong_client_id": True, "disabled": True}, ["attached", "secret"]),
    ({"rbac": False, "grant": False, "attach": False}, ["attached", "grant"]),
], ids=["rbac-grant-missing", "wrong-client-id-and-disabled-secret", "access-policy-missing-and-not-attached"])
def test_capture_then_replay_on_the_sandbox_gives_doctor_the_same_findings(cli, az, sandbox, tmp_path, case,
                                                                             expected):
    original = hand_made(az, sandbox, **case)
    before = doctor_findings(cli, original["identity"], "kv-hand-made", original["group"])
    assert before == expected  # the links broken by hand, as doctor names them (with its live probe)
    spec_path = tmp_path / "customer-case.toml"
    mark = len(sandbox.calls)
    code, out = cli("capture", "--identity", original["identity"], "--vault", "kv-hand-made", "--secret",
                    "db-password", "--container-group", original["group"], "--out", str(spec_path), "--json")
    assert code == 0, out
    # Capture only reads: no write of any kind, not even a probe group in the original's subscription.
    assert [c for c in sandbox.calls[mark:] if c.method not in ("GET", "HEAD") and c.plane in ("arm", "vault")] == []
    captured = json.loads(out)
    assert captured["names"] == {f"resource group {RG}": f"{RG}-repro", "vault kv-hand-made": "kv-hand-made-rp"}
    assert [f["link"] for f in captured["findings"]] == [link for link in before if link != "probe"]  # no probe
    text = spec_path.read_text()
    assert SECRET not in text and "[reproduce]" in text
    spec = load_spec(spec_path)
    assert (spec.vault.access_model, spec.grant.scope) == (("rbac", "secret") if case.get("rbac", True) else
                                                          ("access_policy", "vault"))
    assert (spec.target.kind, spec.target.container_group, spec.target.image) == ("aci", "cg-app", "python:3.12")
    assert spec.target.environment == {"APP_MODE": "worker"}
    assert spec.reproduce.grant_missing is not case.get("grant", True)
    assert spec.reproduce.secret_disabled is case.get("disabled", False)
    assert spec.reproduce.not_attached is not case.get("attach", True)
    assert spec.reproduce.wrong_client_id is case.get("wrong_client_id", False)

    replay = replayed(cli, spec_path)
    assert f"/resourceGroups/{RG}-repro/" in replay["identity"]
    after = doctor_findings(cli, replay["identity"], "kv-hand-made-rp", replay["group"])
    assert after == before
    assert doctor_findings(cli, original["identity"], "kv-hand-made", original["group"]) == before  # untouched


def test_human_output_prints_the_name_map_and_the_findings(cli, az, sandbox, tmp_path):
    original = hand_made(az, sandbox, grant=False)
    code, text = cli("capture", "--identity", original["identity"], "--vault", "kv-hand-made", "--secret",
                     "db-password", "--container-group", original["group"], "--out", str(tmp_path / "case.toml"))
    assert code == 0, text
    assert f"resource group {RG} -> {RG}-repro" in text and "vault kv-hand-made -> kv-hand-made-rp" in text
    assert "- grant: id-app holds no role that reads db-password" in text


def test_a_reproduce_spec_is_refused_off_the_sandbox_before_any_write(cli, az, sandbox, tmp_path, monkeypatch):
    original = hand_made(az, sandbox, grant=False)
    spec_path = tmp_path / "case.toml"
    assert cli("capture", "--identity", original["identity"], "--vault", "kv-hand-made", "--secret", "db-password",
               "--container-group", original["group"], "--out", str(spec_path))[0] == 0
    # Azure itself (no sandbox option): refused at the preflight, before any sign-in or read.
    for name in ("AZURE_CLIENT_ID", "AZURE_TENANT_ID", "AZURE_CLIENT_SECRET"):
        monkeypatch.delenv(name, raising=False)
    code, text = cli("apply", str(spec_path), "--yes", "--secret-from", "env:CAPTURE_SECRET", connect=False)
    assert code == 2, text
    # The captured setup names the sandbox's subscription, so the sandbox refusal comes first (either says so).
    off_the_sandbox = ("made on the sandbox", "Add --sandbox")
    assert all(part in text for part in off_the_sandbox) and "Traceback" not in text, text
    code, text = cli("plan", str(spec_path), "--secret-from", "env:CAPTURE_SECRET", connect=False)
    assert code == 2 and all(part in text for part in off_the_sandbox), text
    assert not (tmp_path / "state" / "case.json").exists()  # no state: nothing was made or recorded


def test_capture_refuses_what_it_cannot_capture(cli, az, sandbox, tmp_path):
    original = hand_made(az, sandbox)
    missing = original["identity"].replace("id-app", "id-nobody")
    code, text = cli("capture", "--identity", missing, "--out", str(tmp_path / "x.toml"))
    assert code == 2 and "nothing to capture" in text and not (tmp_path / "x.toml").exists()
    code, text = cli("capture", "--identity", original["identity"], "--pool", original["group"],
                     "--out", str(tmp_path / "x.toml"))  # a container group's id given as a pool's
    assert code == 2 and "--pool must be the pool's resource id" in text and not (tmp_path / "x.toml").exists()


def test_reproduce_table_round_trips_validates_and_is_left_out_when_empty(tmp_path):
    from wizard.spec import Spec, dump_spec, save_spec
    from wizard.spec_reproduce import ReproduceSpec
    base = {"name": "case", "subscription": "Contoso Dev", "resource_group": "rg-case", "identity": {"name": "id-a"},
            "vault": {"name": "kv-case"}, "secret": {"name": "s"},
            "target": {"kind": "aci", "container_group": "cg-a"}}
    plain = Spec.from_dict(base)
    assert "reproduce" not in plain.to_dict() and "reproduce" not in dump_spec(plain)
    broken = Spec.from_dict({**base, "reproduce": {"grant_missing": True, "wrong_client_id": True,
                                                   "decoy_identity": "id-decoy"}})
    assert broken.reproduce == ReproduceSpec(grant_missing=True, wrong_client_id=True, decoy_identity="id-decoy")
    assert broken.reproduce.broken() == ["attached", "grant"]
    save_spec(broken, tmp_path / "case.toml")
    assert load_spec(tmp_path / "case.toml") == broken
    assert broken.validate() == []
    wrong = Spec.from_dict({**base, "target": {"kind": "none"}, "vault": {"name": ""},
                            "reproduce": {"secret_disabled": True, "not_attached": True, "decoy_identity": "id-a"}})
    problems = wrong.validate()
    assert any(p.startswith("reproduce: grant_missing and secret_disabled need a vault") for p in problems)
    assert any(p.startswith("reproduce: not_attached breaks a container group or a Batch pool") for p in problems)
    assert "reproduce.decoy_identity: only with wrong_client_id = true." in problems
    assert "reproduce.decoy_identity: must differ from the identity's name." in problems
    with pytest.raises(ValueError, match="reproduce.grant_missing: expected true or false"):
        Spec.from_dict({**base, "reproduce": {"grant_missing": "yes"}})
