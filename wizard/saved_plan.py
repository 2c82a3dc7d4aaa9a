"""A plan is a contract: `plan --out PLAN` saves it, `apply PLAN` carries out exactly that plan or refuses.

Like Terraform's saved plans, a saved plan names the state it was made against (lineage and serial) and what
it decided for each step. `apply PLAN` re-reads Azure first (the engine's plan is always fresh) and refuses
when the state moved on or when the fresh plan differs from the saved one: what was reviewed is what runs.
The UI's review -> apply uses the same comparison. A plan never holds a secret value: only where it comes from.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .state import State

PLAN_KIND = "mi-wizard-plan"
PLAN_VERSION = 1
COMPARED = ("step", "action", "reason", "details")
"""What a plan item promises: a changed reason (a resource appeared, a grant vanished) is a changed plan."""


class StalePlan(Exception):
    """The saved plan no longer matches the state or Azure: says what changed and what to do."""

    def __init__(self, changes: list[str]):
        super().__init__("; ".join(changes))
        self.changes = changes


@dataclass
class SavedPlan:
    setup: str
    spec: dict[str, Any]
    items: list[dict[str, Any]]
    lineage: str | None = None
    """The state the plan was made against; None: a new setup (no state file yet)."""
    serial: int = 0
    secret_from: str | None = None
    """Where the secret value comes from (env:NAME, file:PATH, stdin), never the value."""
    created: str = ""
    problems: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"kind": PLAN_KIND, "version": PLAN_VERSION, "setup": self.setup, "created": self.created,
                "state": {"lineage": self.lineage, "serial": self.serial} if self.lineage else None,
                "secret_from": self.secret_from, "spec": self.spec, "items": self.items, "problems": self.problems}


def is_plan_file(path: Path) -> bool:
    """A saved plan is JSON with its kind; a spec is TOML (which never starts with "{")."""
    try:
        with path.open("rb") as handle:
            head = handle.read(64).lstrip()
    except OSError:
        return False
    return head.startswith(b"{") and PLAN_KIND.encode() in path.read_bytes()[:4096]


def save_plan(path: Path, saved: SavedPlan) -> None:
    """Write atomically, readable by the user only (it names resources, never secret values)."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as handle:
            json.dump(saved.to_dict(), handle, indent=2)
            handle.write("\n")
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def load_plan(path: Path) -> SavedPlan:
    from .spec import SpecError
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as err:
        raise SpecError(f"{path} is not a readable mi-wizard plan ({err}). Make one with `mi-wizard plan SPEC "
                        "--out PLAN`.") from None
    if not isinstance(data, dict) or data.get("kind") != PLAN_KIND:
        raise SpecError(f"{path} is not a mi-wizard plan. Make one with `mi-wizard plan SPEC --out PLAN`.")
    if data.get("version") != PLAN_VERSION:
        raise SpecError(f"{path} is a plan of format {data.get('version')}; this mi-wizard reads format "
                        f"{PLAN_VERSION}. Make the plan again with this version.")
    state = data.get("state") or {}
    return SavedPlan(setup=str(data.get("setup", "")), spec=data.get("spec") or {}, items=list(data.get("items") or []),
                     lineage=state.get("lineage"), serial=int(state.get("serial") or 0),
                     secret_from=data.get("secret_from"), created=str(data.get("created", "")),
                     problems=list(data.get("problems") or []))


def plan_changes(promised: list[dict[str, Any]], fresh: list[dict[str, Any]]) -> list[str]:
    """What differs between a reviewed (or saved) plan and the plan made now, one line per step."""
    # A live probe (action "check") changes nothing in the setup: whether it runs (`--no-verify`, or the last
    # verification passed) is not part of the contract.
    before = {i["step"]: i for i in promised if i.get("action") != "check"}
    after = {i["step"]: i for i in fresh if i.get("action") != "check"}
    changes = []
    for step in list(before) + [s for s in after if s not in before]:
        old, new = before.get(step), after.get(step)
        if old is None:
            added = after[step]  # in one plan at least
            if added["action"] != "nothing":  # a step that does nothing changes nothing, planned or not
                changes.append(f"{added['title']}: newly planned: {added['action']} ({added['reason']})")
        elif new is None:
            if old["action"] != "nothing":
                changes.append(f"{old['title']}: no longer planned (was {old['action']})")
        elif any(old.get(k) != new.get(k) for k in COMPARED):
            what = (f"{old['action']} -> {new['action']}" if old["action"] != new["action"] else new["action"])
            changes.append(f"{new['title']}: {what}: now \"{new['reason']}\" (was \"{old['reason']}\")")
    return changes


def state_changes(saved: SavedPlan, state: State | None) -> list[str]:
    """How the setup's state moved on since the plan was made (another run, another setup at the same path)."""
    changes = []
    if saved.lineage is None and state is not None and state.serial > 0:
        changes.append(f"the setup {saved.setup} was created after this plan was made (state serial {state.serial})")
    elif saved.lineage is not None:
        if state is None or state.serial == 0:
            changes.append(f"the state of {saved.setup} that this plan was made against no longer exists")
        elif state.lineage != saved.lineage:
            changes.append(f"the state file belongs to another setup named {saved.setup} (lineage differs)")
        elif state.serial != saved.serial:
            changes.append(f"the state moved on since the plan (serial {saved.serial} -> {state.serial}): another "
                           "run changed this setup")
    return changes


def check_current(saved: SavedPlan, state: State | None, fresh_items: list[dict[str, Any]]) -> None:
    """Refuse (StalePlan) a saved plan whose state moved on, or whose decisions Azure no longer supports."""
    changes = state_changes(saved, state)
    changes += plan_changes(saved.items, fresh_items)
    if changes:
        raise StalePlan(changes)
