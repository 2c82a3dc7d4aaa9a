"""The real Azure CLI for tests: installed once into its own virtualenv, cached across runs, and run against a
sandbox with a per-test config directory, so nothing touches the user's own az.

The virtualenv lives under ~/.cache/mi-wizard-tests/az-VERSION-pyX.Y (MI_WIZARD_TEST_CACHE moves the parent). It is
created under a file lock, so parallel pytest workers and parallel runs install it once; a finished install carries
a marker file, and an interrupted one is removed and redone. Nothing is skipped: when it cannot be installed, the
caller fails with pip's own words.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

AZ_VERSION = "2.91.0"
_MARKER = ".mi-wizard-complete"


class AzInstallError(RuntimeError):
    """The CLI could not be installed; the message says why (pip's output tail)."""


def cache_root() -> Path:
    override = os.environ.get("MI_WIZARD_TEST_CACHE")
    return Path(override) if override else Path.home() / ".cache" / "mi-wizard-tests"


def venv_dir(version: str = AZ_VERSION) -> Path:
    return cache_root() / f"az-{version}-py{sys.version_info.major}.{sys.version_info.minor}"


def _python(venv: Path) -> Path:
    return venv / "bin" / "python"


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _run(cmd: list[str], what: str, timeout: float) -> None:
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as err:
        raise AzInstallError(f"{what} did not finish in {timeout:.0f} s: {' '.join(cmd)}") from err
    if done.returncode != 0:
        tail = (done.stdout + done.stderr)[-4000:]
        raise AzInstallError(f"{what} failed (exit {done.returncode}): {' '.join(cmd)}\n{tail}")


def ensure_az(version: str = AZ_VERSION, *, timeout: float = 900.0) -> tuple[Path, float]:
    """The python of a virtualenv holding azure-cli==`version`, and the seconds spent installing it (0 when it was
    already there). Raises AzInstallError with the reason when it cannot be installed."""
    venv = venv_dir(version)
    with _locked(venv.with_name(venv.name + ".lock")):
        if (venv / _MARKER).is_file() and _python(venv).exists():
            return _python(venv), 0.0
        started = time.monotonic()
        shutil.rmtree(venv, ignore_errors=True)  # a half-made one from an interrupted run
        base = getattr(sys, "_base_executable", None) or sys.executable
        _run([base, "-m", "venv", str(venv)], "creating the az virtualenv", 120)
        pip = [str(_python(venv)), "-m", "pip", "--disable-pip-version-check", "--no-input"]
        _run(pip + ["install", "--quiet", f"azure-cli=={version}"], f"pip install azure-cli=={version}", timeout)
        _run([str(_python(venv)), "-c", "import azure.cli.core, azure.cli.__main__"], "importing azure.cli", 120)
        (venv / _MARKER).write_text(json.dumps({"azure-cli": version, "seconds": round(time.monotonic() - started)}))
        return _python(venv), time.monotonic() - started


@dataclass
class AzResult:
    args: list[str]
    returncode: int
    stdout: str
    stderr: str
    seconds: float

    def json(self) -> Any:
        return json.loads(self.stdout) if self.stdout.strip() else None

    def describe(self) -> str:
        return (f"az {' '.join(self.args)} -> exit {self.returncode} in {self.seconds:.1f} s\n"
                f"--- stdout ---\n{self.stdout[-3000:]}\n--- stderr ---\n{self.stderr[-6000:]}")


class AzCli:
    """Runs `python -m azure.cli ...` from the cached virtualenv with its own config directory and the environment
    the sandbox's descriptor gives for az (`az_env`): what a person following the descriptor would set."""

    def __init__(self, python: Path, config_dir: Path, az_env: dict[str, str], *, timeout: float = 180.0) -> None:
        self.python = python
        self.config_dir = config_dir
        self.timeout = timeout
        config_dir.mkdir(parents=True, exist_ok=True)
        keep = {k: v for k, v in os.environ.items() if k in ("PATH", "LANG", "LC_ALL", "TMPDIR", "TZ")}
        self.env = {
            **keep,
            "HOME": str(config_dir),  # nothing of the user's: no ~/.azure, no msal cache beside it
            "AZURE_CONFIG_DIR": str(config_dir),
            **az_env,  # the sandbox descriptor's: its CA (requests and MSAL read it), MSAL's instance discovery off
            "AZURE_CORE_COLLECT_TELEMETRY": "false",
            "AZURE_CORE_NO_COLOR": "true",
            "AZURE_CORE_ONLY_SHOW_ERRORS": "true",
            "AZURE_CORE_SURVEY_MESSAGE": "false",
            "AZURE_CORE_LOGIN_EXPERIENCE_V2": "off",
            "AZURE_EXTENSION_USE_DYNAMIC_INSTALL": "no",
            "AZURE_CORE_DISABLE_CONFIRM_PROMPT": "true",
            "PYTHONWARNINGS": "ignore",
        }

    def __call__(self, *args: str) -> AzResult:
        started = time.monotonic()
        try:
            done = subprocess.run([str(self.python), "-m", "azure.cli", *args], env=self.env, capture_output=True,
                                  text=True, timeout=self.timeout, stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired as err:
            return AzResult(list(args), -1, str(err.stdout or ""), f"timed out after {self.timeout} s\n"
                            f"{err.stderr or ''}", time.monotonic() - started)
        return AzResult(list(args), done.returncode, done.stdout, done.stderr, time.monotonic() - started)
