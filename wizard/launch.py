"""Starts the Textual UI. Kept apart so the CLI imports Textual only when the wizard is opened."""

from __future__ import annotations


def run_ui(*, sandbox: bool = False, sandbox_reset: bool = False) -> int:
    from screens.app import run
    return run(sandbox=sandbox, sandbox_reset=sandbox_reset)
