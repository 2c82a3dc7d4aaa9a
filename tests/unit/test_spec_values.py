"""Each value rule of the spec (wizard/spec_values.py, the setup name, load_spec's file checks) and the secret
source's checks: every message says what is wrong and how to fix it."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from wizard.secrets import SecretSource, SecretSourceError, in_memory, parse_secret_source
from wizard.spec import SpecError, load_spec
from wizard.spec_values import env_name_problem, image_reference_problem, resource_problem

ROOT = Path(__file__).resolve().parents[2]


def example(**changes) -> list[str]:
    """The problems of examples/prefect-aci.toml with `changes` ({"target.cpu": -1, ...}) applied."""
    spec = load_spec(ROOT / "examples" / "prefect-aci.toml")
    for dotted, value in changes.items():
        *parts, key = dotted.split(".")
        obj = spec
        for part in parts:
            obj = getattr(obj, part)
        setattr(obj, key, value)
    return spec.validate()


def only(problems: list[str]) -> str:
    assert len(problems) == 1, problems
    return problems[0]


def test_the_example_has_no_problems():
    assert example() == []


# -- the container group's resources -------------------------------------------------------------------------

@pytest.mark.parametrize("field,value,wrong", [
    ("target.cpu", -1.0, "-1 is not a CPU count ACI accepts"),
    ("target.cpu", 0.0, "0 is not a CPU count ACI accepts"),
    ("target.cpu", float("nan"), "nan is not a CPU count ACI accepts"),
    ("target.cpu", 32.0, "32 is over ACI's limit of 31 CPUs per container group"),
    ("target.memory_gb", -2.0, "-2 is not a memory size ACI accepts"),
    ("target.memory_gb", float("inf"), "inf is not a memory size ACI accepts"),
    ("target.memory_gb", 512.0, "512 is over ACI's limit of 240 GB per container group"),
])
def test_cpu_and_memory_out_of_range(field, value, wrong):
    message = only(example(**{field: value}))
    assert message.startswith(f"{field}: {wrong}")
    assert "above 0 and at most" in message and "in steps of 0.1" in message


@pytest.mark.parametrize("field,value,suggested", [("target.cpu", 0.25, "0.2"), ("target.memory_gb", 1.55, "1.6")])
def test_cpu_and_memory_take_steps_of_a_tenth(field, value, suggested):
    assert only(example(**{field: value})) == (f"{field}: {value:g} has more than one decimal place, and ACI takes "
                                               f"steps of 0.1; use e.g. {suggested}.")


@pytest.mark.parametrize("value", [0.1, 0.5, 1, 1.5, 4, 16, 31])
def test_cpu_values_azure_takes(value):
    assert example(**{"target.cpu": float(value)}) == []
    assert resource_problem(float(value), 240, "memory size", "GB", "1.5") is None


def test_restart_policy_must_be_one_of_azures():
    message = only(example(**{"target.restart_policy": "Sometimes"}))
    assert message == ("target.restart_policy: 'Sometimes' is not one of Always, OnFailure, Never; use Always "
                       "(a service), OnFailure or Never (a job).")
    message = only(example(**{"target.restart_policy": "onfailure"}))
    assert "'onfailure' is not one of" in message and 'use "OnFailure" (the case matters)' in message


# -- the image ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("image", ["prefecthq/prefect:3-latest", "mcr.microsoft.com/azure-cli", "python:3.12",
                                   "busybox", "localhost:5000/team/app:v1.2", "myRegistry.azurecr.io/app:v1",
                                   "nginx@sha256:" + "a" * 64, "ghcr.io/org/app:1.0@sha256:" + "0" * 64])
def test_valid_image_references(image):
    assert image_reference_problem(image) is None


@pytest.mark.parametrize("image,wrong,fix", [
    ("prefecthq/prefect: 3", "has a space or other whitespace", "remove it"),
    ("Prefecthq/Prefect:3", "repository names are lower-case", "use 'prefecthq/prefect:3'"),
    ("myRegistry.azurecr.io/App:v1", "repository names are lower-case", "use 'myRegistry.azurecr.io/app:v1'"),
    ("nginx@sha256:abc", "has a digest that is not sha256: followed by 64", "drop it and use a tag"),
    ("nginx:-latest", "has the tag '-latest'", "not starting with '.' or '-'"),
    ("team//app", "is not a valid image reference", "The form is [REGISTRY/]REPOSITORY[:TAG]"),
])
def test_bad_image_references(image, wrong, fix):
    message = only(example(**{"target.image": image}))
    assert message.startswith(f"target.image: {image!r}") and wrong in message and fix in message


def test_the_probe_image_is_checked_too():
    message = only(example(**{"verify.probe_image": "Bad Image"}))
    assert message.startswith("verify.probe_image: 'Bad Image' has a space")


# -- environment variable names -----------------------------------------------------------------------------

@pytest.mark.parametrize("name,suggested", [("1ST", "_1ST"), ("LOG-LEVEL", "LOG_LEVEL"), ("MY VAR", "MY_VAR"),
                                            ("prefect.level", "prefect_level")])
def test_bad_environment_variable_names(name, suggested):
    message = only(example(**{"target.environment": {name: "x", "GOOD_NAME": "y"}}))
    assert message == (f"target.environment: {name!r} is not a valid environment variable name; use letters, digits "
                       f"and underscores, not starting with a digit (e.g. {suggested!r}).")


@pytest.mark.parametrize("name", ["A", "_PRIVATE", "prefect_logging_level", "X1"])
def test_good_environment_variable_names(name):
    assert env_name_problem(name) is None


# -- verification and Batch numbers ---------------------------------------------------------------------------

@pytest.mark.parametrize("value", [-5.0, 0.0, float("inf"), float("nan")])
def test_wait_limit_is_a_positive_finite_number(value):
    message = only(example(**{"verify.wait_limit_s": value}))
    assert message.startswith(f"verify.wait_limit_s: {value:g} is not a positive number of seconds; use e.g. 900")


def test_batch_node_counts_are_zero_or_more():
    from wizard.targets.batch import BatchTarget
    spec = load_spec(ROOT / "examples" / "prefect-aci.toml")
    spec.target = BatchTarget(account="contosobatch", pool="pool-etl", dedicated_nodes=-1, low_priority_nodes=-2)
    problems = spec.validate()
    assert ("target.dedicated_nodes: -1 is not a node count; use 0 or more (a new pool needs at least one node to "
            "run the probe, e.g. dedicated_nodes = 1).") in problems
    assert any(p.startswith("target.low_priority_nodes: -2 is not a node count; use 0 or more") for p in problems)


# -- names that become paths --------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["../escape", "a/b", "a\\b", "/etc/passwd"])
def test_setup_names_with_path_separators_are_refused(name):
    message = only(example(name=name))
    assert message == (f"name: {name!r} would put the state file outside the state directory (it has a path "
                       "separator). Use a plain name: letters, digits, '.', '_' and '-', starting with a letter or "
                       "digit, e.g. name = \"prefect-aci\".")


@pytest.mark.parametrize("name", ["has space", ".hidden", "..", "x" * 65])
def test_other_bad_setup_names(name):
    message = only(example(name=name))
    assert message.startswith("name: Setup names are 1-64 characters: letters, digits, periods, underscores and "
                              "hyphens, starting with a letter or digit") and "e.g. use 'prefect-aci'" in message


def test_a_missing_setup_name():
    assert only(example(name="")) == ("name: give the setup a name (it names the state file), e.g. "
                                      "name = \"prefect-aci\".")


@pytest.mark.parametrize("field", ["identity.resource_group", "vault.resource_group", "target.resource_group"])
def test_part_resource_groups_cannot_be_paths(field):
    message = only(example(**{field: "../rg"}))
    assert message.startswith(f"{field}: Resource group names are 1-90 characters") and "'/'" in message


def test_only_physical_regions_count():
    # Real SDK models as Azure answers them: geographies ("europe") and edge zones cannot hold resources.
    from azure.mgmt.resource.subscriptions.models import Location

    from wizard.azure.locations import _is_physical_region
    answers = [{"name": "europe", "type": "Region", "metadata": {"regionType": "Logical"}},
               {"name": "westeurope", "type": "Region", "metadata": {"regionType": "Physical"}},
               {"name": "eastus", "type": "Region"}, {"name": "losangeles", "type": "EdgeZone"}]
    assert [a["name"] for a in answers if _is_physical_region(Location(a))] == ["westeurope", "eastus"]


def test_location_must_be_a_short_region_name():
    message = only(example(location="West Europe"))
    assert message.startswith("location: Use the region's short name") and "'westeurope'" in message


# -- the spec file itself -----------------------------------------------------------------------------------

def test_a_directory_is_not_a_spec(tmp_path):
    with pytest.raises(SpecError) as err:
        load_spec(tmp_path)
    assert str(err.value) == (f"{tmp_path} is a directory, not a spec file. Give the path of the .toml file, e.g. "
                              f"{tmp_path / 'setup.toml'}.")


def test_a_spec_that_is_not_utf8(tmp_path):
    path = tmp_path / "latin1.toml"
    path.write_bytes('name = "caf\u00e9"\n'.encode("latin-1"))
    with pytest.raises(SpecError) as err:
        load_spec(path)
    assert "is not UTF-8 text (the first bad byte is at offset 11)" in str(err.value)
    assert "Save it as UTF-8" in str(err.value)


def test_a_utf8_bom_is_accepted(tmp_path):
    path = tmp_path / "bom.toml"
    path.write_bytes(b"\xef\xbb\xbf" + (ROOT / "examples" / "prefect-aci.toml").read_bytes())
    assert load_spec(path).name == "prefect-aci"


# -- the secret source --------------------------------------------------------------------------------------

SECRET = "s3cret-value-never-shown"


def refused(source: SecretSource) -> str:
    with pytest.raises(SecretSourceError) as err:
        source.prepare()
    message = str(err.value)
    assert SECRET not in message and SECRET not in repr(source)
    return message


def test_unset_and_empty_environment_variables(monkeypatch):
    monkeypatch.delenv("MI_TEST_NOPE", raising=False)
    assert refused(SecretSource("env", "MI_TEST_NOPE")) == (
        "Environment variable MI_TEST_NOPE is not set. Export it with the secret value (export MI_TEST_NOPE=...), "
        "or use --secret-from file:PATH or stdin.")
    monkeypatch.setenv("MI_TEST_EMPTY", "")
    assert refused(SecretSource("env", "MI_TEST_EMPTY")) == (
        "Environment variable MI_TEST_EMPTY: the secret value is empty; export the secret value in MI_TEST_EMPTY "
        "(export MI_TEST_EMPTY=...), or use --secret-from file:PATH or stdin.")


def test_blank_and_oversized_values(monkeypatch, tmp_path):
    monkeypatch.setenv("MI_TEST_BLANK", " \t ")
    assert refused(SecretSource("env", "MI_TEST_BLANK")).startswith(
        "Environment variable MI_TEST_BLANK: the secret value is blank (only spaces, tabs or newlines); export")
    big = tmp_path / "big.txt"
    big.write_text(SECRET + "x" * 26 * 1024)
    assert refused(SecretSource("file", str(big))).startswith(
        f"The secret file {big}: Key Vault secret values are at most 25 KB (25,600 bytes in UTF-8)")
    monkeypatch.setenv("MI_TEST_BIG", SECRET + "é" * 12_800)
    message = refused(SecretSource("env", "MI_TEST_BIG"))
    assert "at most 25 KB" in message and "25,624 bytes" in message and "storage account" in message


def test_files_missing_a_directory_or_not_utf8(tmp_path):
    missing = tmp_path / "nope.txt"
    assert refused(SecretSource("file", str(missing))).startswith(f"There is no secret file at {missing}. Check the path")
    assert refused(SecretSource("file", str(tmp_path))) == (
        f"The secret file {tmp_path} is a directory. Give the path of the file that holds the secret value: "
        "--secret-from file:PATH.")
    binary = tmp_path / "binary"
    binary.write_bytes(SECRET.encode() + b"\xff\xfe")
    assert refused(SecretSource("file", str(binary))) == (
        f"The secret file {binary}: the secret is not UTF-8 text (the first bad byte is at offset {len(SECRET)}), and "
        "Key Vault stores secrets as text. Save it as UTF-8, or base64-encode binary data first "
        "(base64 -w0 FILE > FILE.b64).")
    blank = tmp_path / "blank.txt"
    blank.write_text("  \n")
    assert "the secret value is blank" in refused(SecretSource("file", str(blank)))


def test_an_unreadable_path(tmp_path):
    # A path through a file fails for any user (root included), as an unreadable file does for others.
    through = tmp_path / "plain.txt"
    through.write_text(SECRET)
    assert refused(SecretSource("file", str(through / "child"))) == (
        f"Cannot read the secret file {through / 'child'}: Not a directory. Check the path and its permissions (the "
        "file must be readable by you).")


def test_a_file_is_read_once_and_its_final_newline_dropped(tmp_path):
    path = tmp_path / "token.txt"
    path.write_text(SECRET + "\n")
    source = SecretSource("file", str(path))
    source.prepare()
    path.write_text("changed afterwards")
    assert source.read() == SECRET and source.prepared
    assert SECRET not in repr(source) and SECRET not in str(source)


class _Stdin:
    """A stdin with bytes underneath that counts its reads."""

    def __init__(self, data: bytes):
        self.buffer = io.BytesIO(data)
        self.reads = 0
        read = self.buffer.read

        def counted(*args):
            self.reads += 1
            return read(*args)
        self.buffer.read = counted

    def isatty(self) -> bool:
        return False


def test_stdin_is_read_once(monkeypatch):
    stdin = _Stdin(SECRET.encode() + b"\r\n")
    monkeypatch.setattr("sys.stdin", stdin)
    source = parse_secret_source("stdin")
    source.prepare()
    source.prepare()
    assert source.read() == SECRET and source.read() == SECRET and stdin.reads == 1


def test_refused_stdin_is_not_read_again(monkeypatch):
    stdin = _Stdin(b"   \n")
    monkeypatch.setattr("sys.stdin", stdin)
    source = parse_secret_source("stdin")
    first = refused(source)
    assert refused(source) == first and first.startswith("Standard input: the secret value is blank")
    assert stdin.reads == 1


def test_stdin_that_is_not_utf8_or_empty(monkeypatch):
    monkeypatch.setattr("sys.stdin", _Stdin(b"\xc3\x28"))
    assert refused(parse_secret_source("stdin")).startswith("Standard input: the secret is not UTF-8 text")
    monkeypatch.setattr("sys.stdin", _Stdin(b"\n"))
    assert refused(parse_secret_source("stdin")) == (
        "Standard input: the secret value is empty; pipe the secret value in (--secret-from stdin < FILE), or use "
        "env:NAME or file:PATH.")


def test_the_prompt_needs_a_terminal(monkeypatch):
    monkeypatch.setattr("sys.stdin", _Stdin(SECRET.encode()))
    assert refused(parse_secret_source("prompt")) == (
        "There is no terminal to ask for the secret value (masked). Use --secret-from env:NAME, file:PATH or stdin.")


def test_the_uis_value_is_checked_and_read_once():
    calls = []

    def typed() -> str:
        calls.append(1)
        return SECRET
    source = in_memory(typed)
    assert source.read() == SECRET and source.read() == SECRET and calls == [1]
    assert refused(in_memory(lambda: "   ")).startswith("The typed secret: the secret value is blank")


def test_a_value_on_the_command_line_is_not_repeated():
    with pytest.raises(SecretSourceError) as err:
        parse_secret_source(SECRET)
    assert SECRET not in str(err.value) and "env:NAME, file:PATH, stdin or prompt" in str(err.value)
