"""Time to the wizard's first screen, as a ratio to a bare Textual app showing one screen.

Each run is a fresh interpreter (imports are what this measures): the parent starts it and stops the clock
when the child's first frame of its first screen is composed (the frame Textual hands to the terminal; the
runs are headless, so nothing is written). The wizard runs as `mi-wizard --sandbox` does; the sandbox
starts in a worker after that frame, and the Azure SDK imports come with the session, so neither is counted.
For reference, the same wizard with the Azure SDK and the engine imported up front shows what deferring
them saves.

ratio = wizard / bare; 1.00 would mean the wizard costs nothing over Textual itself.

Usage: python benchmarks/ui_first_screen.py [--runs 7]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

HOOK = textwrap.dedent("""
    import os
    from textual.app import App

    _display = App._display

    def first_frame(self, screen, renderable):
        if renderable is not None and type(screen).__name__ == EXPECTED:
            print("shown", flush=True)
            os._exit(0)  # the clock stops here: teardown is not part of "time to first screen"
        return _display(self, screen, renderable)

    App._display = first_frame
""")

BARE = 'EXPECTED = "One"\n' + HOOK + textwrap.dedent("""
    from textual.screen import Screen
    from textual.widgets import Footer, Header, Static

    class One(Screen):
        def compose(self):
            yield Header()
            yield Static("Hello")
            yield Footer()

    class Bare(App):
        def on_mount(self):
            self.push_screen(One())
    Bare().run(headless=True)
""")

WIZARD = 'EXPECTED = "WelcomeScreen"\n' + HOOK + textwrap.dedent("""
    from screens.app import make_app
    make_app(sandbox=True).run(headless=True)
""")

EAGER = WIZARD.replace("from screens.app import make_app",
                       "import wizard.engine, wizard.catalog, azure.identity, azure.keyvault.secrets\n"
                       "from screens.app import make_app")


def time_once(code: str, env: dict[str, str]) -> float:
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    elapsed = time.perf_counter() - start
    proc.wait(timeout=60)
    if line.strip() != "shown":
        raise SystemExit(f"the app did not show its first screen:\n{proc.stderr.read()}")
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "MI_WIZARD_STATE_DIR": f"{tmp}/state", "MI_WIZARD_SANDBOX_DIR": f"{tmp}/sandbox",
               "PYTHONPATH": str(ROOT)}
        time_once(BARE, env)  # warm the file cache: every variant then reads the same warm files
        time_once(EAGER, env)
        medians = {}
        for name, code in (("bare Textual app", BARE), ("mi-wizard --sandbox", WIZARD),
                           ("mi-wizard, SDK imported first", EAGER)):
            medians[name] = statistics.median(time_once(code, env) for _ in range(args.runs))
    bare = medians["bare Textual app"]
    print(f"time to the first screen (median of {args.runs} fresh interpreters):")
    for name, seconds in medians.items():
        print(f"  {name:32} {seconds * 1000:7.0f} ms   ratio {seconds / bare:4.2f}")
    print(f"ratio (wizard / bare): {medians['mi-wizard --sandbox'] / bare:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
