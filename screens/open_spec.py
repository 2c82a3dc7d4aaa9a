"""Opening a spec file from the welcome screen, when its setup name cannot be used as it is.

A spec names its setup, and the name names the state file. When a setup of that name exists already (another
setup, or this one made earlier), opening the spec must never touch it: the person is asked for another, free
name (NAME-2 offered), or cancels and nothing is written. The same question comes when the name is not a valid
setup name (a spec without `name` is named after its file). Headless `apply` refuses the same case with the fix
(wizard/state_binding.py).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .errors import run_action


def open_spec(screen: Any, path: Path) -> None:
    """Open `path` as a new setup at the review screen; ask for another name when its own cannot be used."""
    from wizard.spec import load_spec
    # Not a spec, not readable, a spec with problems, a setup of that name made meanwhile: said (screens.errors).
    run_action(screen, f"open {path}", lambda: _open(screen, path, load_spec(path)))


def _open(screen: Any, path: Path, spec: Any) -> None:
    from wizard.draft import Draft
    services = screen.services
    name = spec.name or path.stem
    reason = name_problem(name, services.state_dir)
    if reason is None:  # the spec read once: the one its name was checked on
        screen.app.open_setup(Draft.start(name, directory=services.state_dir, spec=spec, cloud=services.cloud,
                                          at="review"))
        return

    def opened(new_name: str | None) -> None:
        if not new_name:
            return  # cancelled: nothing was written
        run_action(screen, f"open {path} as {new_name}",  # e.g. that name taken meanwhile
                   lambda: screen.app.open_setup(Draft.start(new_name, directory=services.state_dir, spec=spec,
                                                             cloud=services.cloud, at="review")))

    from .dialogs import AskDialog
    screen.app.push_screen(AskDialog(
        f"Open {path.name} under another name",
        f"{reason} Opening the spec never changes an existing setup (to continue one, cancel and resume it from "
        "the list). Name the new setup:",
        value=free_name(name, services.state_dir), ok_label="Open",
        check=lambda typed: name_problem(typed, services.state_dir)), opened)


def name_problem(name: str, directory: Path | None) -> str | None:
    """Why `name` cannot name a new setup here (None when it can)."""
    from wizard.state import validate_setup_name
    from wizard.state_store import StateStore
    problem = validate_setup_name(name)
    if problem:
        return problem
    if StateStore.for_setup(name, directory).exists():
        return f"A setup named {name} already exists."
    return None


def free_name(name: str, directory: Path | None) -> str:
    """NAME-2, NAME-3, ... (cut to fit the 64-character rule): the first that names no setup; "" if none does."""
    from wizard.state import validate_setup_name
    base = name if not validate_setup_name(name) else "opened-spec"
    for n in range(2, 1000):
        suffix = f"-{n}"
        candidate = base[:64 - len(suffix)].rstrip("-._") + suffix
        if name_problem(candidate, directory) is None:
            return candidate
    return ""
