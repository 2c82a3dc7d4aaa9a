"""`mi-wizard --sandbox` started in a real terminal (tmux), a setup completed with keys only, and the
verification read off the screen."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

# tmux is required, not optional: .ci/run installs it where it is missing, so this test always runs.
pytestmark = [pytest.mark.timeout(120)]

SECRET = "typed-in-tmux-7d1e"


class Terminal:
    def __init__(self, tmp_path: Path, command: str):
        self.socket = f"mi-wizard-test-{uuid.uuid4().hex[:8]}"
        env = {"MI_WIZARD_STATE_DIR": str(tmp_path / "state"), "MI_WIZARD_SANDBOX_DIR": str(tmp_path / "sandbox"),
               "TERM": "xterm-256color"}
        exports = " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items())
        self.tmux("new-session", "-d", "-s", "w", "-x", "80", "-y", "24",
                  f"env {exports} {command}; echo EXIT=$?; sleep 60")

    def tmux(self, *args: str) -> str:
        return subprocess.run(["tmux", "-L", self.socket, *args], check=True, capture_output=True, text=True).stdout

    def screen(self) -> str:
        return self.tmux("capture-pane", "-p", "-t", "w")

    def wait(self, text: str, timeout: float = 90.0) -> str:
        """Wait until `text` is shown and the screen, colours included, holds still: by then the new screen
        has also moved the focus (a key sent earlier would go to no input)."""
        deadline = time.monotonic() + timeout
        previous = None
        while time.monotonic() < deadline:
            shown = self.tmux("capture-pane", "-p", "-e", "-t", "w")
            if text in self.screen() and shown == previous:
                return self.screen()
            previous = shown if text in self.screen() else None
            time.sleep(0.15)
        raise AssertionError(f"{text!r} never appeared; the screen:\n{self.screen()}")

    def keys(self, *keys: str) -> None:
        self.tmux("send-keys", "-t", "w", *keys)

    def type(self, text: str) -> None:
        self.tmux("send-keys", "-t", "w", "-l", text)

    def close(self) -> None:
        """Stop the private server and remove its socket file (tmux leaves it behind in its directory)."""
        subprocess.run(["tmux", "-L", self.socket, "kill-server"], capture_output=True)
        (Path(os.environ.get("TMUX_TMPDIR") or "/tmp") / f"tmux-{os.getuid()}" / self.socket).unlink(missing_ok=True)


def command() -> str:
    script = Path(sys.executable).with_name("mi-wizard")
    return f"{script} --sandbox" if script.exists() else f"{sys.executable} -m wizard --sandbox"


def test_a_setup_with_keys_only_in_a_real_terminal(tmp_path):
    term = Terminal(tmp_path, command())
    try:
        term.wait("Connected to the sandbox")
        term.keys("n")
        term.wait("Start a new setup")
        term.keys("Enter")
        term.wait("Signed in to the sandbox")
        term.keys("C-n")
        term.wait("Contoso Dev")
        term.keys("Enter")
        term.wait("rg-prefect-demo")
        term.type("prefect")
        term.keys("Enter")
        term.wait("A new identity id-prefect-aci")
        term.keys("Enter")
        term.wait("kv-prefect-aci is available")
        term.keys("Enter")
        term.wait("Secret name")
        term.type(SECRET)
        term.wait("•" * len(SECRET))
        term.keys("Enter")
        term.wait("Key Vault Secrets User")
        term.keys("C-n")
        term.wait("will be created with the identity attached")
        term.keys("C-n")
        term.wait("changes to make")
        term.keys("C-n")
        shown = term.wait("Verification passed", timeout=120)
        assert "✓ Live probe (the target reads the secret)" in shown
        assert SECRET not in shown
        term.keys("C-q")
        term.wait("EXIT=0")
    finally:
        term.close()
    state = tmp_path / "state" / "prefect-aci.json"
    assert state.exists() and SECRET.encode() not in state.read_bytes()


def test_keys_typed_ahead_while_screens_change_are_not_lost(tmp_path):
    """A person who knows the wizard types ahead, without waiting for each screen: `n`, a name, Enter, Ctrl+N and a
    filter, sent back to back. Every key lands where it was meant to: the setup has the typed name and the
    subscription screen shows the whole filter (keys sent while a screen gives way to the next are held for it).
    With gaps between the keys (0.1 s was tried) each switch finishes before the next key, and the test passes
    without the key buffer; back to back, it fails without it."""
    term = Terminal(tmp_path, command())
    try:
        term.wait("Connected to the sandbox")
        for key in ["n", *"quick", "Enter", "C-n", *"contoso"]:
            term.tmux("send-keys", "-t", "w", *(["-l", key] if len(key) == 1 else [key]))
        shown = term.wait("Contoso Dev")
        lines = shown.splitlines()
        assert "quick" in lines[0] and "Subscription" in shown, shown
        assert any(line.strip() == "contoso" for line in lines), shown  # the filter box holds every letter
        term.keys("C-q")
        term.wait("EXIT=0")
    finally:
        term.close()
