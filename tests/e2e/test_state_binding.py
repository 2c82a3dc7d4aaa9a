"""A state file belongs to its setup (issue 11 item 6): another setup's spec applied to it, or a spec that takes a
setup's name but describes other resources, is refused with exit 2 and the fix, before anything is read or
written, and the state file is left byte for byte as it was."""

from __future__ import annotations

from pathlib import Path

import pytest

from wizard.cli import main

ROOT = Path(__file__).resolve().parents[2]
SECRET = "binding-s3cret"


@pytest.fixture
def cli(sandbox, tmp_path, monkeypatch, capsys):
    descriptor = tmp_path / "sandbox.json"
    sandbox.write_descriptor(descriptor)
    monkeypatch.setenv("MI_WIZARD_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("MI_BINDING_SECRET", SECRET)

    def run(*args: str) -> tuple[int, str]:
        code = main([*args, "--sandbox-descriptor", str(descriptor)])
        out = capsys.readouterr()
        return code, out.out + out.err
    return run


def spec_file(tmp_path: Path, example: str, name: str, **replace: str) -> Path:
    text = (ROOT / "examples" / f"{example}.toml").read_text()
    for old, new in replace.items():
        text = text.replace(old, new)
    path = tmp_path / name
    path.write_text(text)
    return path


def test_another_setups_spec_or_a_namesake_is_refused_before_any_write(cli, sandbox, tmp_path):
    aci = spec_file(tmp_path, "prefect-aci", "aci.toml")
    code, out = cli("apply", str(aci), "--yes", "--secret-from", "env:MI_BINDING_SECRET", "--no-verify")
    assert code == 0, out
    state = tmp_path / "state" / "prefect-aci.json"
    before = state.read_bytes()
    github = spec_file(tmp_path, "github-oidc", "gh.toml")
    namesake = spec_file(tmp_path, "github-oidc", "namesake.toml",
                         **{'name = "github-oidc"': 'name = "prefect-aci"'})
    for args, expected in (
            (["apply", str(github), "--yes", "--state", str(state)],
             "belongs to setup 'prefect-aci', not to 'github-oidc'"),
            (["plan", str(github), "--state", str(state)], "belongs to setup 'prefect-aci'"),
            (["apply", str(namesake), "--yes"], "A setup named 'prefect-aci' already exists"),
            (["plan", str(namesake)], "give the spec another name, or remove the old one first")):
        mark = len(sandbox.calls)
        code, out = cli(*args)
        assert code == 2 and expected in out, (args, out)
        assert sandbox.calls[mark:] == [] and "Traceback" not in out  # refused before any call at all
        assert state.read_bytes() == before
    # The setup's own spec, edited in a detail (the image), still applies: only other resources are refused.
    edited = spec_file(tmp_path, "prefect-aci", "edited.toml",
                       **{"prefecthq/prefect:3-latest": "prefecthq/prefect:3-python3.12"})
    code, out = cli("plan", str(edited))
    assert code == 0, out
