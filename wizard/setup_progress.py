"""How far a setup is, from its state file alone: what the welcome screen's list and `mi-wizard status` show.

Progress counts the steps its spec needs now (`engine.steps_for`: the rows the apply screen shows), never the
state's records as they lie: a record of a step the spec no longer needs (another target chosen since, a step
an older version named) would make a finished setup look unfinished ("9/10"). The verification is not a step:
the list says whether it passed elsewhere. A setup nothing was planned for yet has no count ("-", not "0/0").

The target is shown once it was chosen (the target screen confirmed it, a spec file named it, or the setup was
planned), not the default a new setup starts with.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .state import State

NO_PROGRESS = "-"
TARGET_CHOSEN = "target_chosen"
"""`ui[TARGET_CHOSEN]` is true once the person (or a spec file) chose the target: wizard.draft sets it."""


def needed_steps(spec: dict[str, Any]) -> list[str] | None:
    """The ids of the steps this spec needs, in plan order; None when the spec cannot be read."""
    from .engine import steps_for
    from .spec import Spec
    try:
        return [step.id for step in steps_for(Spec.from_dict(spec))]
    except Exception:  # noqa: BLE001 - an unreadable spec: its records are all there is to count
        return None


def step_counts(state: State) -> tuple[int, int] | None:
    """(finished, needed) steps, or None before anything was planned or applied."""
    from .state import FINISHED_STATUSES
    records = {k: r for k, r in state.steps.items() if k != "verify"}
    if not records:
        return None
    needed = needed_steps(state.spec)
    wanted = needed if needed is not None else list(records)
    done = sum(1 for step_id in wanted if step_id in records and records[step_id].status in FINISHED_STATUSES)
    return done, len(wanted)


def progress_text(state: State) -> str:
    """ "4/6" (finished of needed steps), or "-" before anything was planned."""
    counts = step_counts(state)
    return f"{counts[0]}/{counts[1]}" if counts else NO_PROGRESS


def target_chosen(state: State) -> bool:
    """Whether the setup's target is its own choice yet (a new setup starts with a default it has not chosen)."""
    from .draft import RENAMED_SCREENS, SCREENS
    if state.ui.get(TARGET_CHOSEN) or state.steps:
        return True
    screen = str(state.ui.get("screen", ""))
    if not screen:
        return True  # no screen recorded: made from a spec file by the CLI, which names its target
    screen = RENAMED_SCREENS.get(screen, screen)
    # A file older than the flag: standing past the target screen means it was confirmed.
    return screen in SCREENS and SCREENS.index(screen) > SCREENS.index("target")


def target_text(state: State) -> str:
    """ "AKS aks-apps"; "none" for a setup chosen without a compute target; "" while no target is chosen yet."""
    from .state import describe_target
    if not target_chosen(state):
        return ""
    return describe_target(state.spec) or "none"
