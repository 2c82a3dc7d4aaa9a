"""The spec: parsed strictly, with messages that say what is wrong and how to fix it; no secret values."""

from __future__ import annotations

from pathlib import Path

import pytest

from wizard.spec import Spec, SpecError, dump_spec, load_spec, save_spec

ROOT = Path(__file__).resolve().parents[2]


def test_example_spec_loads_and_validates():
    spec = load_spec(ROOT / "examples" / "prefect-aci.toml")
    assert spec.validate() == []
    assert spec.vault.access_model == "rbac" and spec.grant.scope == "secret"
    assert spec.identity_group == spec.resource_group == "rg-prefect-flows"


def test_round_trip_through_toml(tmp_path):
    spec = load_spec(ROOT / "examples" / "prefect-aci.toml")
    save_spec(spec, tmp_path / "copy.toml")
    assert load_spec(tmp_path / "copy.toml") == spec
    assert not list(tmp_path.glob(".copy.toml.*"))  # the temp file is gone


@pytest.mark.parametrize("text,needle", [
    ('name = "x"\n[vault]\nnmae = "kv"\n', "unknown key nmae"),
    ('name = 5\n', "name: expected a string"),
    ('[grant]\nallow_list = "yes"\n', "expected true or false"),
    ('[target]\ncpu = "two"\n', "expected a number"),
    ('name = "x"\nname = "y"\n', "not valid TOML"),
])
def test_bad_specs_say_what_and_where(tmp_path, text, needle):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(SpecError) as err:
        load_spec(path)
    assert needle in str(err.value)


def test_missing_file_says_so(tmp_path):
    with pytest.raises(SpecError, match="No spec file"):
        load_spec(tmp_path / "nope.toml")


def test_validate_lists_every_problem_with_its_fix():
    spec = Spec.from_dict({"name": "", "subscription": "", "resource_group": "bad.", "identity": {"name": "x"},
                           "vault": {"name": "kv--bad", "access_model": "policies"}, "secret": {"name": "a b"},
                           "target": {"kind": "aci", "container_group": "Bad_Name"}})
    problems = spec.validate()
    joined = "\n".join(problems)
    for label in ("name:", "subscription:", "resource_group:", "identity.name:", "vault.name:", "secret.name:",
                  "vault.access_model:", "target.container_group:"):
        assert label in joined, label


def test_access_policy_with_secret_scope_is_explained():
    spec = load_spec(ROOT / "examples" / "prefect-aci.toml")
    spec.vault.access_model = "access_policy"
    assert any("apply to the whole vault" in p for p in spec.validate())


def test_dump_is_short_and_has_no_empty_values():
    text = dump_spec(Spec.from_dict({"name": "n", "subscription": "s", "resource_group": "rg"}))
    assert '""' not in text and "[]" not in text


def test_unexpected_errors_are_not_blamed_on_azure():
    from wizard.azure.errors import explain
    info = explain(KeyError("principal_id"))
    assert info.code == "KeyError" and "unexpected" in info.explanation and "bug" in info.fix


def test_setup_list_names_federated_targets():
    from wizard.state import describe_target
    assert describe_target({"target": {"kind": "github", "repository": "contoso/app"}}) == "GitHub contoso/app"
    assert describe_target({"target": {"kind": "aks", "cluster": "aks-apps"}}) == "AKS aks-apps"
    assert describe_target({"target": {"kind": "none"}}) == ""


# -- targets as units: each kind has its own table ----------------------------------------------------------

def test_each_target_kind_has_its_own_table_and_a_saved_aci_spec_has_no_batch_fields():
    from wizard.spec import dump_spec
    from wizard.targets.aci import AciTarget
    from wizard.targets.batch import BatchTarget
    aci = Spec.from_dict({"name": "s", "target": {"kind": "aci", "container_group": "cg"}})
    assert isinstance(aci.target, AciTarget)
    saved = dump_spec(aci)
    assert "vm_size" not in saved and "dedicated_nodes" not in saved and "node_image" not in saved
    batch = Spec.from_dict({"name": "s", "target": {"kind": "batch", "account": "a", "pool": "p"}})
    assert isinstance(batch.target, BatchTarget) and not hasattr(batch.target, "image")


def test_a_spec_saved_before_targets_were_units_still_loads():
    # The old flat table carried every kind's defaults (an ACI spec had vm_size, a Batch one had cpu).
    old = {"name": "s", "target": {"kind": "aci", "container_group": "cg", "image": "busybox", "cpu": 1.0,
                                   "memory_gb": 1.5, "vm_size": "STANDARD_D2S_V3", "dedicated_nodes": 1,
                                   "node_agent_sku": "batch.node.ubuntu 24.04", "account": "", "pool": ""}}
    spec = Spec.from_dict(old)
    assert spec.target.container_group == "cg" and "vm_size" not in spec.to_dict()["target"]


def test_a_key_of_another_kind_is_refused_with_the_kind_it_belongs_to():
    with pytest.raises(SpecError) as err:
        Spec.from_dict({"name": "s", "target": {"kind": "aci", "container_group": "cg", "vm_size": "STANDARD_A1"}})
    assert 'target.vm_size: not a key of kind = "aci"' in str(err.value)
    assert 'kind = "batch"' in str(err.value)
    with pytest.raises(SpecError) as err:
        Spec.from_dict({"name": "s", "target": {"kind": "kubernetes"}})
    assert "'kubernetes' is not a target kind; use one of aci, batch, aks, github, platform, none" in str(err.value)
