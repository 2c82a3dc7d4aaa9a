"""Starts the Textual UI. Kept apart so the CLI imports Textual only when the wizard is opened."""

from __future__ import annotations

import gc


def run_ui(*, sandbox: bool = False, sandbox_reset: bool = False) -> int:
    # Starting up allocates a great many objects that live as long as the process (Textual's modules, its CSS,
    # the first screen's widgets), and the cyclic collector would walk them again and again while they are made
    # (about 20 ms of the first screen's ~230, for no garbage). It is off until the first screen has painted;
    # then what exists is frozen (never walked again) and the collector is back on (screens.app, `resume_gc`).
    paused = gc.isenabled()
    gc.disable()
    try:
        from screens.app import run
        return run(sandbox=sandbox, sandbox_reset=sandbox_reset, resume_gc=paused)
    finally:
        if paused:
            gc.enable()  # the app did it already, unless it never painted
