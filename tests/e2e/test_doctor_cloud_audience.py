"""doctor's --federation expects the token-exchange audience of the cloud it checks (--cloud; public without it),
not always the public cloud's: Microsoft documents one per cloud (wizard/azure/clouds.py cites the list). A
credential with the wrong one is a broken link whose fix names the right audience and its cloud.

On the sandbox, which stands in for any cloud (as a setup whose spec says cloud = "usgov" is built there), with the
credential made by hand through the SDK, and doctor run through the real CLI entry point."""

from __future__ import annotations

import argparse
import json
from types import SimpleNamespace

import pytest

from wizard.cli import OK, VERIFY_FAILED, main
from wizard.doctor_args import DoctorArgError, doctor_target, parse_federation
from wizard.spec_workloads import GITHUB_ISSUER
from wizard.verify_links import expected_audience

RG, LOC = "rg-doctor-cloud", "eastus"
PUBLIC, USGOV, CHINA = "api://AzureADTokenExchange", "api://AzureADTokenExchangeUSGov", "api://AzureADTokenExchangeChina"
SUBJECT = "repo:contoso/app:ref:refs/heads/main"
FEDERATION = "github:contoso/app:branch:main"


@pytest.mark.parametrize(("cloud", "audience"), [("public", PUBLIC), ("usgov", USGOV), ("china", CHINA)])
def test_each_cloud_gives_its_own_audience(cloud, audience):
    assert parse_federation(FEDERATION, cloud)["audience"] == audience
    cluster = ("/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg/providers/"
               "Microsoft.ContainerService/managedClusters/aks1")
    assert parse_federation(f"aks:{cluster}:apps:worker", cloud)["audience"] == audience


def _args(**overrides) -> argparse.Namespace:
    values = {"identity": "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg/providers/"
                          "Microsoft.ManagedIdentity/userAssignedIdentities/id1",
              "vault": "", "secret": "", "container_group": "", "pool": "", "federation": [FEDERATION], "grant": [],
              "cloud": None}
    return argparse.Namespace(**{**values, **overrides})


def test_doctor_options_use_cloud_and_default_to_public():
    assert doctor_target(_args()).federations[0]["audience"] == PUBLIC
    assert doctor_target(_args(cloud="usgov")).federations[0]["audience"] == USGOV
    with pytest.raises(DoctorArgError, match="'germany' is not a cloud mi-wizard knows"):
        doctor_target(_args(cloud="germany"))


def test_a_federation_without_an_audience_expects_the_clouds():
    """An older state's federation carries no audience: the checker's cloud decides."""
    checker = SimpleNamespace(clients=SimpleNamespace(profile=SimpleNamespace(token_exchange_audience=CHINA)))
    assert expected_audience(checker, {"subject": SUBJECT}) == CHINA  # type: ignore[arg-type]
    assert expected_audience(checker, {"subject": SUBJECT, "audience": USGOV}) == USGOV  # type: ignore[arg-type]


@pytest.fixture
def doctor(sandbox, tmp_path, monkeypatch, capsys):
    descriptor = tmp_path / "sandbox.json"
    sandbox.write_descriptor(descriptor)
    monkeypatch.setenv("MI_WIZARD_STATE_DIR", str(tmp_path / "state"))

    def run(*args: str) -> tuple[int, dict]:
        code = main(["doctor", *args, "--json", "--sandbox-descriptor", str(descriptor)])
        out = capsys.readouterr()
        assert "Traceback" not in out.out + out.err, out.out + out.err
        return code, json.loads(out.out)
    return run


def _identity_trusting(az, audience: str):
    az.resources.resource_groups.create_or_update(RG, {"location": LOC})
    identity = az.msi.user_assigned_identities.create_or_update(RG, "id-gh", {"location": LOC})
    az.msi.federated_identity_credentials.create_or_update(RG, "id-gh", "gh-main", {"properties": {
        "issuer": GITHUB_ISSUER, "subject": SUBJECT, "audiences": [audience]}})
    return identity


def _federation_link(report: dict) -> dict:
    return next(link for link in report["links"] if link["link"].startswith("federation:"))


def test_a_usgov_credential_holds_for_cloud_usgov_and_not_for_public(az, doctor):
    identity = _identity_trusting(az, USGOV)
    code, report = doctor("--identity", identity.id, "--federation", FEDERATION, "--cloud", "usgov")
    assert (code, report["passed"]) == (OK, True), report
    assert _federation_link(report)["ok"] is True

    code, report = doctor("--identity", identity.id, "--federation", FEDERATION)
    assert code == VERIFY_FAILED
    link = _federation_link(report)
    assert not link["ok"]
    assert link["detail"] == f"gh-main expects audience {USGOV}, not {PUBLIC}: token exchange fails."
    assert link["fix"] == (f"Set the credential's audience to {PUBLIC}, the token-exchange audience of Azure: resume "
                           f"the setup, or az identity federated-credential update -g {RG} --identity-name id-gh -n "
                           f"gh-main --audiences {PUBLIC}")


def test_a_public_credential_is_broken_for_usgov_and_the_fix_names_usgovs_audience(az, doctor):
    identity = _identity_trusting(az, PUBLIC)
    code, report = doctor("--identity", identity.id, "--federation", FEDERATION, "--cloud", "usgov")
    assert code == VERIFY_FAILED
    link = _federation_link(report)
    assert link["detail"] == f"gh-main expects audience {PUBLIC}, not {USGOV}: token exchange fails."
    assert link["fix"].startswith(f"Set the credential's audience to {USGOV}, the token-exchange audience of Azure US "
                                  "Government: ")
    assert link["fix"].endswith(f"--audiences {USGOV}")
