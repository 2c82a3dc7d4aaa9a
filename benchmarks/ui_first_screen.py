"""Time to the wizard's first screen in a real terminal, as a ratio to a bare Textual app showing one Static.

Both run the same way in tmux (a private server, each run in a fresh 100x30 session with a plain bash): the
command is typed, and the clock runs from its Enter until `capture-pane -p` shows the app's known text (the
welcome screen's lead sentence and its key bar, that is, the whole screen; the bare app's one Static). That is what a person waits for: interpreter start,
imports, the first frame and the terminal drawing it. The wizard is the real `mi-wizard --sandbox` (the sandbox
starts after the first frame, so it is not counted), on a temporary sandbox and state directory and a temporary
HOME, never the user's. Runs alternate bare / wizard after one warm-up each; the median of each is compared.
The project's bytecode is compiled first (as an installed package's is), so a stale or missing __pycache__
(sources just edited, PYTHONDONTWRITEBYTECODE set) is not measured as the wizard's import time.

ratio = wizard / bare; target <= 1.15 (1.00 would mean the wizard costs nothing over Textual itself). Also
printed: the median of the per-pair ratios (each wizard run over the bare run just before it), which drifts
less when the machine's load changes during the runs, and the load average, since on a busy machine both
figures move by tens of milliseconds.

Usage: python benchmarks/ui_first_screen.py [--runs 25]
"""

from __future__ import annotations

import argparse
import compileall
import os
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET = 1.15
WIDTH, HEIGHT = 100, 30
PROMPT = "bench-ready$"
WIZARD_TEXT = ("Give an Azure workload a managed identity", "n Start new")
"""The whole first screen: the lead under "Welcome" (screens/welcome.py) and the key bar at the bottom
(screens/key_bar.py), so a screen that paints its keys a frame later is timed to that frame."""
BARE_TEXT = ("A bare Textual app shows one Static",)

BARE_APP = textwrap.dedent(f"""
    from textual.app import App
    from textual.widgets import Static


    class Bare(App):
        BINDINGS = [("q", "quit", "Quit")]

        def compose(self):
            yield Static({BARE_TEXT[0]!r})


    Bare().run()
""")


class Tmux:
    """A private tmux server (its own socket), so nothing here touches the user's sessions."""

    def __init__(self) -> None:
        self.socket = f"mi-wizard-bench-{uuid.uuid4().hex[:8]}"
        self.started = False

    def __call__(self, *args: str, check: bool = True) -> str:
        result = subprocess.run(["tmux", "-L", self.socket, *args], capture_output=True, text=True)
        if check and result.returncode != 0:
            raise RuntimeError(f"tmux {' '.join(args)}: {result.stderr.strip()}")
        return result.stdout

    def keep_alive(self) -> None:
        """An idle session for the whole benchmark: without it the server exits whenever a run's session is
        killed, and the next run's new-session can race that exit ("server exited unexpectedly")."""
        self("new-session", "-d", "-s", "keeper", "-x", str(WIDTH), "-y", str(HEIGHT), "sleep 86400")
        self.started = True

    def new_session(self, name: str, env: dict[str, str]) -> None:
        exports = " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items())
        self("new-session", "-d", "-s", name, "-x", str(WIDTH), "-y", str(HEIGHT),
             f"env {exports} PS1={shlex.quote(PROMPT + ' ')} bash --norc --noprofile")
        self.started = True

    def screen(self, name: str) -> str:
        return self("capture-pane", "-p", "-t", name, check=False)

    def kill_server(self) -> None:
        """Stop the private server (every session on it) and remove its socket file."""
        if self.started:
            self("kill-server", check=False)
            self.started = False
        socket = Path(os.environ.get("TMUX_TMPDIR") or "/tmp") / f"tmux-{os.getuid()}" / self.socket
        socket.unlink(missing_ok=True)


def wait_for(tmux: Tmux, session: str, texts: tuple[str, ...], timeout: float,
             pause: float = 0.005) -> float | None:
    """Poll the pane until all of `texts` show: the monotonic time they were first seen, or None on timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        screen = tmux.screen(session)
        if all(text in screen for text in texts):
            return time.monotonic()
        time.sleep(pause)
    return None


def time_once(tmux: Tmux, n: int, command: str, texts: tuple[str, ...], quit_key: str, env: dict[str, str]) -> float:
    session = f"run{n}"
    tmux.new_session(session, env)
    try:
        if wait_for(tmux, session, (PROMPT,), 10, pause=0.02) is None:
            raise RuntimeError(f"the shell in tmux never showed its prompt:\n{tmux.screen(session)}")
        tmux("send-keys", "-t", session, "-l", f"{command}; echo EXIT=$?")
        time.sleep(0.1)  # let the typed line settle before the clock starts
        start = time.monotonic()
        tmux("send-keys", "-t", session, "Enter")
        shown = wait_for(tmux, session, texts, 60)
        if shown is None:
            raise RuntimeError(f"{texts!r} never appeared; the screen:\n{tmux.screen(session)}")
        tmux("send-keys", "-t", session, quit_key)
        if wait_for(tmux, session, ("EXIT=",), 30, pause=0.05) is None:  # the app is gone before the next run starts
            print(f"  (run {n}: the app did not exit on {quit_key}; its session is killed)", file=sys.stderr)
        return shown - start
    finally:
        tmux("kill-session", "-t", session, check=False)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=25,
                        help="timed runs of each (default 25: run to run, either moves by tens of ms), after one "
                             "warm-up each")
    args = parser.parse_args()
    if shutil.which("tmux") is None:
        raise SystemExit("tmux is needed: apt-get install -y tmux")
    script = Path(sys.executable).with_name("mi-wizard")
    wizard = shlex.quote(str(script)) if script.exists() else f"{shlex.quote(sys.executable)} -m wizard"
    for package in ("wizard", "screens"):
        if not compileall.compile_dir(ROOT / package, quiet=1):
            raise SystemExit(f"could not compile {ROOT / package}")
    tmux = Tmux()

    def stop(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    with tempfile.TemporaryDirectory(prefix="mi-wizard-ui-bench-") as tmp:
        home = Path(tmp) / "home"
        home.mkdir()
        bare_script = Path(tmp) / "bare_app.py"
        bare_script.write_text(BARE_APP)
        env = {"HOME": str(home), "XDG_DATA_HOME": f"{home}/.local/share", "XDG_STATE_HOME": f"{home}/.local/state",
               "XDG_CONFIG_HOME": f"{home}/.config", "XDG_CACHE_HOME": f"{home}/.cache",
               "MI_WIZARD_SANDBOX_DIR": f"{tmp}/sandbox", "MI_WIZARD_STATE_DIR": f"{tmp}/state",
               "PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(ROOT), "LANG": os.environ.get("LANG", "C.UTF-8")}
        variants = {"bare Textual app": (f"{shlex.quote(sys.executable)} {shlex.quote(str(bare_script))}", BARE_TEXT,
                                         "q"),
                    "mi-wizard --sandbox": (f"{wizard} --sandbox", WIZARD_TEXT, "C-q")}
        times: dict[str, list[float]] = {name: [] for name in variants}
        load_before = os.getloadavg()[0]
        try:
            tmux.keep_alive()
            n = 0
            for command, texts, key in variants.values():  # warm-up: file cache, the sandbox's first start
                n += 1
                time_once(tmux, n, command, texts, key, env)
            for _ in range(args.runs):
                for name, (command, texts, key) in variants.items():
                    n += 1
                    times[name].append(time_once(tmux, n, command, texts, key, env))
        finally:
            tmux.kill_server()
    load_after = os.getloadavg()[0]
    bare = statistics.median(times["bare Textual app"])
    wiz = statistics.median(times["mi-wizard --sandbox"])
    paired = statistics.median(w / b for b, w in zip(times["bare Textual app"], times["mi-wizard --sandbox"], strict=True))
    print(f"time to the first screen in tmux ({WIDTH}x{HEIGHT}), median of {args.runs} alternating runs "
          f"(load average {load_before:.2f} before, {load_after:.2f} after, {os.cpu_count()} CPUs):")
    for name, values in times.items():
        median = statistics.median(values)
        print(f"  {name:22} {median * 1000:7.0f} ms   (min {min(values) * 1000:.0f}, max {max(values) * 1000:.0f})"
              f"   ratio {median / bare:4.2f}")
    ratio = wiz / bare
    print(f"ratio (wizard / bare): {ratio:.2f}   (target <= {TARGET}: {'meets' if ratio <= TARGET else 'MISSES'} "
          f"target)   median of per-pair ratios: {paired:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
