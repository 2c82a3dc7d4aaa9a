"""Every bad input is found before the first write: through the real CLI (`wizard.cli.main`) against a running
sandbox, `plan` and `apply` exit 2 with what is wrong and how to fix it, no traceback, no write in the sandbox's
call log and no state file. Each case is examples/prefect-aci.toml with one thing changed."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from wizard.cli import BAD_INPUT, main

from .engine.conftest import Harness

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "prefect-aci.toml"
SECRET = "bad-inputs-s3cret-that-must-stay-hidden"
SECRET_ENV = "MI_BAD_INPUTS_SECRET"


@dataclass
class Case:
    says: list[str]
    """Fragments of the message: what is wrong, then how to fix it."""
    replace: tuple[str, str] | None = None
    """(text in the example, its replacement) for a spec case."""
    secret_from: str = f"env:{SECRET_ENV}"
    env: dict[str, str] = field(default_factory=dict)
    files: Callable[[Path], str] | None = None
    """Makes what the case needs under tmp_path; returns the --secret-from or spec path it stands for."""
    spec_path: bool = False
    """files() gives the spec path, not the --secret-from."""


def _directory(tmp: Path) -> str:
    (tmp / "dir").mkdir()
    return str(tmp / "dir")


def _write(name: str, data: bytes) -> Callable[[Path], str]:
    def make(tmp: Path) -> str:
        (tmp / name).write_bytes(data)
        return f"file:{tmp / name}"
    return make


def _latin1_spec(tmp: Path) -> str:
    path = tmp / "latin1.toml"
    path.write_bytes(b"# caf\xe9\n" + EXAMPLE.read_bytes())
    return str(path)


CASES = {
    # the secret source
    "env-unset": Case(["Environment variable MI_BAD_INPUTS_UNSET is not set", "export MI_BAD_INPUTS_UNSET=",
                       "--secret-from file:PATH or stdin"], secret_from="env:MI_BAD_INPUTS_UNSET"),
    "file-missing": Case(["There is no secret file at", "Check the path"],
                         files=lambda tmp: f"file:{tmp / 'no-such-file.txt'}"),
    "file-is-a-directory": Case(["is a directory", "Give the path of the file that holds the secret value"],
                                files=lambda tmp: f"file:{_directory(tmp)}"),
    "env-empty": Case([f"Environment variable {SECRET_ENV}: the secret value is empty",
                       f"export the secret value in {SECRET_ENV}"], env={SECRET_ENV: ""}),
    "file-empty": Case(["the secret value is empty", "write the secret value into"], files=_write("empty.txt", b"\n")),
    "env-blank": Case([f"Environment variable {SECRET_ENV}: the secret value is blank (only spaces, tabs or newlines)",
                       f"export the secret value in {SECRET_ENV}"], env={SECRET_ENV: "  \t "}),
    "file-blank": Case(["the secret value is blank (only spaces, tabs or newlines)", "write the secret value into"],
                       files=_write("blank.txt", b"   \n\n")),
    "env-26kb": Case(["Key Vault secret values are at most 25 KB (25,600 bytes in UTF-8); this one is 26,663 bytes",
                      "Store a smaller value"], env={SECRET_ENV: SECRET + "x" * 26 * 1024}),
    "file-26kb": Case(["Key Vault secret values are at most 25 KB", "Store a smaller value"],
                      files=_write("big.txt", (SECRET + "x" * 26 * 1024).encode())),
    "file-not-utf8": Case(["the secret is not UTF-8 text", "Save it as UTF-8, or base64-encode binary data first"],
                          files=_write("binary.bin", SECRET.encode() + b"\xff\xfe\x00")),
    # the spec's values
    "cpu-negative": Case(["target.cpu: -1 is not a CPU count ACI accepts",
                          "use a number of CPUs above 0 and at most 31, in steps of 0.1"],
                         replace=("cpu = 1.0", "cpu = -1")),
    "memory-too-big": Case(["target.memory_gb: 512 is over ACI's limit of 240 GB per container group",
                            "use a number of GB above 0 and at most 240"],
                           replace=("memory_gb = 2.0", "memory_gb = 512.0")),
    "restart-policy": Case(["target.restart_policy: 'Sometimes' is not one of Always, OnFailure, Never",
                            "use Always (a service), OnFailure or Never (a job)"],
                           replace=('restart_policy = "Always"', 'restart_policy = "Sometimes"')),
    "location-mars": Case(["location: 'mars' is not a region of subscription", "Use one of: australiaeast",
                           "eastus, eastus2"], replace=('location = "eastus"', 'location = "mars"')),
    "location-typo": Case(["location: 'eastuss' is not a region of subscription", "Did you mean 'eastus'",
                           "Use one of: "], replace=('location = "eastus"', 'location = "eastuss"')),
    "wait-limit-negative": Case(["verify.wait_limit_s: -5 is not a positive number of seconds", "use e.g. 900"],
                                replace=("probe = true", "probe = true\nwait_limit_s = -5")),
    "name-escapes": Case(["name: '../escape' would put the state file outside the state directory",
                          "Use a plain name"], replace=('name = "prefect-aci"', 'name = "../escape"')),
    "image-with-space": Case(["target.image: 'prefecthq/prefect: 3-latest' has a space",
                              "remove it", "The form is [REGISTRY/]REPOSITORY[:TAG]"],
                             replace=('"prefecthq/prefect:3-latest"', '"prefecthq/prefect: 3-latest"')),
    "image-upper-case": Case(["target.image: 'PrefectHQ/prefect:3-latest': repository names are lower-case",
                              "use 'prefecthq/prefect:3-latest'"],
                             replace=('"prefecthq/prefect:3-latest"', '"PrefectHQ/prefect:3-latest"')),
    "env-var-name": Case(["target.environment: 'PREFECT-LOGGING-LEVEL' is not a valid environment variable name",
                          "use letters, digits and underscores, not starting with a digit (e.g. "
                          "'PREFECT_LOGGING_LEVEL')"],
                         replace=("PREFECT_LOGGING_LEVEL =", "PREFECT-LOGGING-LEVEL =")),
    # the spec file itself
    "spec-is-a-directory": Case(["is a directory, not a spec file", "Give the path of the .toml file"],
                                files=_directory, spec_path=True),
    "spec-not-utf8": Case(["is not UTF-8 text (the first bad byte is at offset 5)", "Save it as UTF-8"],
                          files=_latin1_spec, spec_path=True),
}


@pytest.fixture
def cli(sandbox, tmp_path, monkeypatch, capsys):
    """Runs `mi-wizard ARGS --sandbox-descriptor FILE` in this process; returns (exit code, stdout + stderr)."""
    descriptor = tmp_path / "sandbox.json"
    sandbox.write_descriptor(descriptor)
    monkeypatch.setenv("MI_WIZARD_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv(SECRET_ENV, SECRET)

    def run(*args: str) -> tuple[int, str]:
        code = main([*args, "--sandbox-descriptor", str(descriptor)])
        out = capsys.readouterr()
        return code, out.out + out.err
    return run


@pytest.mark.parametrize("command", ["plan", "apply"])
@pytest.mark.parametrize("case", list(CASES.values()), ids=list(CASES))
def test_bad_input_is_exit_2_before_any_write(cli, sandbox, tmp_path, monkeypatch, case: Case, command: str):
    for name, value in case.env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("MI_BAD_INPUTS_UNSET", raising=False)
    spec, secret_from = tmp_path / "setup.toml", case.secret_from
    text = EXAMPLE.read_text()
    if case.replace:
        assert case.replace[0] in text
        text = text.replace(case.replace[0], case.replace[1])
    spec.write_text(text)
    if case.files is not None:
        made = case.files(tmp_path)
        spec, secret_from = (Path(made), secret_from) if case.spec_path else (spec, made)

    harness = Harness(sandbox, tmp_path / "state")
    mark = len(sandbox.calls)
    extra = ["--yes"] if command == "apply" else []
    code, output = cli(command, str(spec), *extra, "--secret-from", secret_from)

    assert code == BAD_INPUT, output
    for fragment in case.says:
        assert fragment in output, f"{fragment!r} not in {output!r}"
    assert "Traceback" not in output and "This is a bug" not in output
    assert SECRET not in output
    assert harness.writes_since(mark) == []
    assert not any(path.is_file() for path in (tmp_path / "state").rglob("*"))


def test_good_inputs_still_apply(cli, sandbox, tmp_path):
    """The same harness with nothing changed: the checks pass and the setup is made (so the cases above fail for
    their own reason, not the harness's)."""
    code, output = cli("apply", str(EXAMPLE), "--yes", "--no-verify", "--secret-from", f"env:{SECRET_ENV}")
    assert code == 0, output
    assert SECRET not in output
    assert (tmp_path / "state" / "prefect-aci.json").is_file()
