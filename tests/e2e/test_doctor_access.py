"""doctor run by someone who may not read the setup: Azure answers 403 AuthorizationFailed, and doctor reports the
link it could not check (Azure's code, the plain explanation, the fix), goes on with the others, and exits 5 as for
any link that does not hold. No traceback. Through the real CLI entry point, signed in (a sandbox descriptor) as a
principal with no role at all, then with Reader on the identity only."""

from __future__ import annotations

import json
import uuid

import pytest

from wizard.cli import VERIFY_FAILED, main

READER = "acdd72a7-3385-48ef-bd42-f606fba81ae7"
RG, LOC = "rg-doctor-access", "westeurope"


@pytest.fixture
def setup(az):
    """An identity, and a container group carrying it, made by the Owner through the SDK."""
    az.resources.resource_groups.create_or_update(RG, {"location": LOC})
    identity = az.msi.user_assigned_identities.create_or_update(RG, "id-app", {"location": LOC})
    group = az.aci.container_groups.begin_create_or_update(RG, "cg-app", {
        "location": LOC, "identity": {"type": "UserAssigned", "userAssignedIdentities": {identity.id: {}}},
        "properties": {"osType": "Linux", "restartPolicy": "Always", "containers": [{"name": "app", "properties": {
            "image": "python:3.12", "command": ["sleep", "infinity"],
            "environmentVariables": [{"name": "AZURE_CLIENT_ID", "value": identity.client_id}],
            "resources": {"requests": {"cpu": 1.0, "memoryInGB": 1.0}}}}]}}).result()
    return identity, group


@pytest.fixture
def doctor_as(sandbox, tmp_path, monkeypatch, capsys):
    """Run `mi-wizard doctor ... [--json]` signed in as a new principal; (exit code, the report (with --json),
    everything printed)."""
    monkeypatch.setenv("MI_WIZARD_STATE_DIR", str(tmp_path / "state"))

    def run(principal: dict, *args: str, as_json: bool = True) -> tuple[int, dict, str]:
        descriptor = tmp_path / f"{principal['name']}.json"
        descriptor.write_text(json.dumps(sandbox.descriptor(principal["name"])))
        code = main(["doctor", *args, "--no-probe", *(["--json"] if as_json else []),
                     "--sandbox-descriptor", str(descriptor)])
        out = capsys.readouterr()
        assert "Traceback" not in out.out + out.err, out.out + out.err
        return code, json.loads(out.out) if as_json else {}, out.out + out.err
    return run


def test_no_role_on_the_identity_is_a_link_not_checked_not_a_traceback(setup, sandbox, doctor_as):
    identity, _ = setup
    nobody = sandbox.add_operator("nobody", "no role anywhere")
    mark = len(sandbox.calls)
    code, report, _ = doctor_as(nobody, "--identity", identity.id)
    assert code == VERIFY_FAILED
    [link] = report["links"]  # nothing else can be checked without the identity
    assert (link["link"], link["ok"], link["pending"]) == ("identity", False, False)
    assert link["detail"].startswith("Could not check it: the signed-in account may not read what this link needs "
                                     "(AuthorizationFailed: The signed-in account is not allowed to do this at this "
                                     "scope.)")
    assert "Microsoft.ManagedIdentity/userAssignedIdentities/read" in link["detail"]  # Azure's own message
    assert link["fix"].startswith("Ask an Owner or User Access Administrator")
    assert "Reader on the resource is enough" in link["fix"]
    assert not [c for c in sandbox.calls[mark:] if c.method not in ("GET", "HEAD") and c.plane == "arm"]

    # The same, as a person reads it (no --json): the link, its fix, and the one-line summary.
    code, _, printed = doctor_as(nobody, "--identity", identity.id, as_json=False)
    assert code == VERIFY_FAILED
    assert "identity: Could not check it" in printed and "fix: Ask an Owner" in printed


def test_reader_on_the_identity_only_checks_it_and_names_each_link_it_could_not(setup, az, sandbox, sub_id,
                                                                               doctor_as):
    identity, group = setup
    helper = sandbox.add_operator("helper", "Reader on the identity only")
    az.authorization.role_assignments.create(identity.id, str(uuid.uuid4()), {"properties": {
        "roleDefinitionId": f"/subscriptions/{sub_id}/providers/Microsoft.Authorization/roleDefinitions/{READER}",
        "principalId": helper["objectId"], "principalType": "ServicePrincipal"}})
    grant = f"AcrPull@/subscriptions/{sub_id}/resourceGroups/{RG}/providers/Microsoft.ContainerInstance/" \
            "containerGroups/cg-app"
    code, report, _ = doctor_as(helper, "--identity", identity.id, "--container-group", group.id,
                                "--grant", grant)
    assert code == VERIFY_FAILED
    links = {link["link"]: link for link in report["links"]}
    assert links["identity"]["ok"] is True  # Reader on it: read and checked
    for name in ("attached", "grant_extra:AcrPull@cg-app"):  # the name a checked grant has too
        assert links[name]["ok"] is False and links[name]["pending"] is False
        assert links[name]["detail"].startswith("Could not check it:"), links[name]
        assert "AuthorizationFailed" in links[name]["detail"]
        assert links[name]["fix"].startswith("Ask an Owner")
