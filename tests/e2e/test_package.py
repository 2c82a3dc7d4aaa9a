"""mi-wizard as a user installs it: the wheel built from this checkout, installed into a fresh virtualenv, run
from outside the repository. It needs nothing of the checkout: the examples, the UI's stylesheet and the
sandbox's data ship inside the package."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import venv
from pathlib import Path

import pytest

from wizard import __version__

ROOT = Path(__file__).resolve().parents[2]
SECRET = "package-s3cret-that-must-stay-hidden"

pytestmark = pytest.mark.timeout(900)


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """The wheel of this checkout in a fresh virtualenv (its dependencies from the package index, as pipx does);
    returns its bin directory."""
    where = tmp_path_factory.mktemp("package")
    wheels = where / "wheels"
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(wheels), str(ROOT)],
                           capture_output=True, text=True, timeout=600)
    assert built.returncode == 0, f"the wheel did not build: {built.stderr[-2000:]}"
    (wheel,) = wheels.glob("mi_wizard-*.whl")
    env_dir = where / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    bin_dir = env_dir / ("Scripts" if os.name == "nt" else "bin")
    pip = subprocess.run([str(bin_dir / "python"), "-m", "pip", "install", "-q", str(wheel)],
                         capture_output=True, text=True, timeout=900)
    assert pip.returncode == 0, f"the wheel did not install: {pip.stderr[-2000:]}"
    return bin_dir


def test_the_installed_wheel_runs_from_outside_the_repository(installed, tmp_path):
    work = tmp_path / "elsewhere"
    work.mkdir()
    env = {"PATH": f"{installed}{os.pathsep}{os.environ.get('PATH', '')}", "HOME": str(tmp_path / "home"),
           "MI_WIZARD_SANDBOX_DIR": str(tmp_path / "sandbox"), "MI_WIZARD_STATE_DIR": str(tmp_path / "state"),
           "X": SECRET, "LANG": "C.UTF-8"}

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        result = subprocess.run([str(installed / "mi-wizard"), *args], cwd=work, env=env, capture_output=True,
                                text=True, timeout=300)
        assert SECRET not in result.stdout + result.stderr
        return result

    version = run("--version")
    assert (version.returncode, version.stdout.strip()) == (0, f"mi-wizard {__version__}")
    made = run("init", "--example", "prefect-aci", "spec.toml")
    assert made.returncode == 0, made.stderr
    assert (work / "spec.toml").read_text() == (ROOT / "examples" / "prefect-aci.toml").read_text()
    again = run("init", "--example", "prefect-aci", "spec.toml")
    assert again.returncode == 2 and "exists" in again.stderr  # never overwritten without --force
    applied = run("apply", "spec.toml", "--sandbox", "--yes", "--secret-from", "env:X", "--json")
    assert applied.returncode == 0, applied.stdout[-2000:] + applied.stderr[-2000:]
    assert json.loads(applied.stdout)["verify"]["passed"] is True
    state = tmp_path / "state" / "prefect-aci.json"
    assert state.exists() and SECRET.encode() not in state.read_bytes()
    # Bare `mi-wizard` without a terminal: a clear refusal, not a hung or garbled full-screen app.
    bare = run()
    assert bare.returncode == 2 and "needs a terminal" in bare.stderr and "mi-wizard apply" not in bare.stdout
