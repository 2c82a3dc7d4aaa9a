"""The state file: what has happened in one setup, so that it can be resumed.

One JSON file per setup (``<state dir>/<name>.json``). It holds the spec (the user's choices), and per step
its status, outputs (resource ids, principal and client ids, role assignment ids), the continuation token of
a long-running operation in flight, and the last error. It never holds a secret value: callers must not put
one in ``spec``, ``outputs``, ``ui`` or ``log``.

Safety rules (DESIGN.md, "Spec and state"):
- written atomically (temp file in the same directory, fsync, rename, fsync of the directory), mode 0600;
- ``serial`` grows on every save, ``lineage`` is fixed at creation; a save refuses to replace a file that
  someone else saved meanwhile (``StateConflict``);
- a corrupt file or one written by a newer mi-wizard is reported with what to do, and never overwritten;
- ``StateStore.lock()`` keeps two wizards off one setup (an advisory lock on ``<file>.lock``).

This module is the file's content (``State``, its steps, reading and migrating it); ``wizard.state_store``
reads, writes and locks the files, and lists a directory of them.

``State`` is a plain object and not thread-safe: a caller that updates it from several threads must
serialize its updates and its calls to ``save``.
"""

from __future__ import annotations

import json
import os
import re
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

FORMAT_VERSION = 4
"""2: a target's steps are named by its kind ("aci", "batch"); format 1 called both "target".
3: AKS and GitHub are target kinds (step "aks" / "github"); format 2 kept them in `[[federation]]` with a step
"federation".
4: `provenance` (per resource: created or adopted by this setup, and what it changed on adopted ones) and
`teardown` (the progress of `mi-wizard destroy`); a format-3 file gets the provenance its step records show.
Older formats are migrated on read and written back at the next save."""
CREATED, ADOPTED = "created", "adopted"
LOG_LIMIT = 200
STEP_STATUSES = ("pending", "running", "waiting", "done", "failed", "skipped")
STEP_ACTIONS = ("create", "update", "adopt", "nothing", "recover", "check", "")
FINISHED_STATUSES = ("done", "skipped")
STATE_DIR_ENV = "MI_WIZARD_STATE_DIR"
_LEAVE_IT = "It was left untouched; move it aside to start over, or restore it from a backup."


class StateError(Exception):
    """A state file that cannot be used; the message says what is wrong and what to do."""


class StateNotFound(StateError):
    """There is no state file at the path."""


class StateConflict(StateError):
    """The file was saved by someone else since this State was loaded."""


class StateLocked(StateError):
    """Another mi-wizard holds the setup's lock."""


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


# -- the records --------------------------------------------------------------------------------------------

@dataclass
class StepRecord:
    status: str = "pending"
    """pending | running | waiting (eventual consistency, an LRO) | done | failed | skipped"""
    action: str = ""
    """What the plan decided: create | update | adopt | nothing, or "" before planning."""
    reason: str = ""
    """Why the plan decided so, in a few words."""
    outputs: dict[str, Any] = field(default_factory=dict)
    """Resource ids, principal and client ids, role assignment ids: never a secret value."""
    lro: dict[str, str] | None = None
    """{"operation": ..., "token": ...}: the continuation token of a long-running operation in flight."""
    error: dict[str, str] | None = None
    """{"code", "message", "fix"} of the last failure."""
    updated: str = field(default_factory=now_iso)

    def update(self, **changes: Any) -> StepRecord:
        """Change fields (checked) and stamp `updated`; returns self."""
        for key in changes:
            if key not in _STEP_FIELDS or key == "updated":
                raise TypeError(f"StepRecord has no field {key!r} to update")
        _check_step({**{k: getattr(self, k) for k in _STEP_FIELDS}, **changes}, "step")
        for key, value in changes.items():
            setattr(self, key, value)
        self.updated = now_iso()
        return self

    def to_dict(self) -> dict[str, Any]:
        return {"status": self.status, "action": self.action, "reason": self.reason,
                "outputs": dict(self.outputs), "lro": dict(self.lro) if self.lro is not None else None,
                "error": dict(self.error) if self.error is not None else None, "updated": self.updated}

    @classmethod
    def from_dict(cls, data: Any, where: str = "step") -> StepRecord:
        _check_step(data, where)
        return cls(**{k: data[k] for k in _STEP_FIELDS if k in data})


_STEP_FIELDS = ("status", "action", "reason", "outputs", "lro", "error", "updated")


def _check_step(data: Any, where: str) -> None:
    if not isinstance(data, dict):
        raise ValueError(f"{where} should be an object")
    if data.get("status", "pending") not in STEP_STATUSES:
        raise ValueError(f"{where}.status is {data.get('status')!r}, not one of {', '.join(STEP_STATUSES)}")
    if data.get("action", "") not in STEP_ACTIONS:
        raise ValueError(f"{where}.action is {data.get('action')!r}, not one of {', '.join(a for a in STEP_ACTIONS if a)}")
    for key, kind in (("reason", str), ("updated", str), ("outputs", dict)):
        if key in data and not isinstance(data[key], kind):
            raise ValueError(f"{where}.{key} should be {'a string' if kind is str else 'an object'}")
    for key in ("lro", "error"):
        if data.get(key) is not None and not isinstance(data[key], dict):
            raise ValueError(f"{where}.{key} should be an object or null")


@dataclass
class State:
    name: str
    """The setup's name (it names the file)."""
    spec: dict[str, Any] = field(default_factory=dict)
    """The setup's choices (Spec.to_dict()); never a secret value."""
    version: int = FORMAT_VERSION
    serial: int = 0
    """Grows by one on every save; 0 means never saved."""
    lineage: str = field(default_factory=lambda: str(uuid.uuid4()))
    """Fixed when the setup is created: tells this setup's file from another one saved at the same path."""
    created: str = field(default_factory=now_iso)
    updated: str = field(default_factory=now_iso)
    steps: dict[str, StepRecord] = field(default_factory=dict)
    ui: dict[str, Any] = field(default_factory=dict)
    """Free-form UI progress, e.g. {"screen": "vault", "answers": {...}}."""
    log: list[str] = field(default_factory=list)
    """Short event lines, the last LOG_LIMIT kept."""
    provenance: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Per resource (a stable key: "identity", "vault", "resource_group:rg-x", "grants:SCOPE|ROLE", ...):
    {"kind", "id", "origin": created | adopted, "step", "changes": [...], "data": {...}}. It lasts: a later run
    that finds the resource in place keeps the origin (see `claim`)."""
    teardown: dict[str, Any] = field(default_factory=dict)
    """`mi-wizard destroy`'s progress: {"status": running | done, "purge", "done": [action keys], ...}."""

    def claim(self, key: str, *, kind: str, id: str, origin: str, step: str, change: dict[str, Any] | None = None,
              data: dict[str, Any] | None = None) -> dict[str, Any]:
        """Record what this setup did to a resource. `origin="created"` when this run creates it (recorded before
        the write, so a run killed after it still knows); "adopted" keeps whatever an earlier run recorded (a
        re-apply that finds a created resource in place does not make it adopted). `change` (something done to
        an adopted resource, e.g. {"identity_added": ID}) is added to the record's changes once."""
        if origin not in (CREATED, ADOPTED):
            raise ValueError(f"origin is {origin!r}, not created or adopted")
        record = self.provenance.get(key)
        if record is None or record.get("removed"):
            record = {"kind": kind, "id": id, "origin": origin, "step": step, "changes": [], "data": {}}
        elif origin == CREATED:
            record["origin"] = CREATED
        record.update(kind=kind, step=step, id=id or record.get("id", ""))
        record.pop("removed", None)
        if data:
            record["data"] = {**record.get("data", {}), **data}
        changes = record.setdefault("changes", [])
        if change is not None and change not in changes:
            changes.append(change)
        self.provenance[key] = record
        return record

    def step(self, step_id: str) -> StepRecord:
        """The record of a step, created pending when it is not there yet."""
        record = self.steps.get(step_id)
        if record is None:
            record = self.steps[step_id] = StepRecord()
        return record

    def progress(self) -> tuple[int, int]:
        """(finished steps, known steps); skipped steps count as finished."""
        done = sum(1 for r in self.steps.values() if r.status in FINISHED_STATUSES)
        return done, len(self.steps)

    def add_log(self, event: str) -> None:
        """Append one timestamped event line, keeping the last LOG_LIMIT."""
        self.log.append(f"{now_iso()} {event}")
        del self.log[:-LOG_LIMIT]

    def to_dict(self) -> dict[str, Any]:
        return {"version": self.version, "serial": self.serial, "lineage": self.lineage, "name": self.name,
                "created": self.created, "updated": self.updated, "spec": self.spec,
                "steps": {k: r.to_dict() for k, r in self.steps.items()}, "ui": self.ui,
                "log": list(self.log[-LOG_LIMIT:]), "provenance": self.provenance, "teardown": self.teardown}

    @classmethod
    def from_dict(cls, data: Any) -> State:
        """Build a State; raises ValueError naming the first field with the wrong shape."""
        if not isinstance(data, dict):
            raise ValueError("the top level should be an object")
        checks = (("version", int), ("serial", int), ("lineage", str), ("name", str), ("created", str),
                  ("updated", str), ("spec", dict), ("steps", dict), ("ui", dict), ("log", list))
        for key, kind in checks:
            if key not in data:
                raise ValueError(f"the field {key!r} is missing")
            if not isinstance(data[key], kind) or (kind is int and isinstance(data[key], bool)):
                raise ValueError(f"the field {key!r} should be {_KIND_NAMES[kind]}")
        if not all(isinstance(line, str) for line in data["log"]):
            raise ValueError("the field 'log' should be a list of strings")
        for key in ("provenance", "teardown"):  # format 4; optional (a format-3 file has neither)
            if not isinstance(data.get(key, {}), dict):
                raise ValueError(f"the field {key!r} should be an object")
        provenance = data.get("provenance", {})
        if not all(isinstance(r, dict) and r.get("origin") in (CREATED, ADOPTED) for r in provenance.values()):
            raise ValueError("the field 'provenance' should map resources to {origin: created | adopted, ...}")
        steps = {str(k): StepRecord.from_dict(v, f"steps.{k}") for k, v in data["steps"].items()}
        return cls(name=data["name"], spec=data["spec"], version=data["version"], serial=data["serial"],
                   lineage=data["lineage"], created=data["created"], updated=data["updated"], steps=steps,
                   ui=data["ui"], log=list(data["log"][-LOG_LIMIT:]), provenance=dict(provenance),
                   teardown=dict(data.get("teardown", {})))


_KIND_NAMES = {int: "a whole number", str: "a string", dict: "an object", list: "a list"}


# -- where state lives --------------------------------------------------------------------------------------

def default_dir() -> Path:
    """The directory of setup files: $MI_WIZARD_STATE_DIR, else the user's state dir + /setups."""
    env = os.environ.get(STATE_DIR_ENV)
    if env:
        return Path(env).expanduser()
    import platformdirs
    return Path(platformdirs.user_state_dir("mi-wizard", appauthor=False)) / "setups"


_SETUP_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


def validate_setup_name(name: str) -> str | None:
    """Setup names become file names: 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit."""
    if _SETUP_NAME.fullmatch(name or ""):
        return None
    return (f"Setup names are 1-64 characters: letters, digits, periods, underscores and hyphens, starting "
            f"with a letter or digit (they name the state file); {name!r} is not one, e.g. use 'prefect-aci'.")


# -- reading ------------------------------------------------------------------------------------------------

def parse_state(path: Path, raw: bytes) -> State:
    """Turn file bytes into a State, or raise StateError with what is wrong and what to do."""
    try:
        data = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise StateError(f"The state file {path} is not UTF-8 text. {_LEAVE_IT}") from None
    except json.JSONDecodeError as err:
        raise StateError(f"The state file {path} is not valid JSON at line {err.lineno} "
                         f"({err.msg.lower()}). {_LEAVE_IT}") from None
    version = data.get("version") if isinstance(data, dict) else None
    if isinstance(version, int) and not isinstance(version, bool) and version > FORMAT_VERSION:
        raise StateError(f"The state file {path} was written by a newer mi-wizard (format {version}; this one "
                         f"reads {FORMAT_VERSION}). Upgrade mi-wizard: pip install -U mi-wizard. "
                         "The file was left untouched.")
    try:
        state = State.from_dict(data)
        if state.version < 1:
            raise ValueError(f"the format version is {state.version}")
        _migrate(state)
    except ValueError as err:
        raise StateError(f"The state file {path} is not an mi-wizard state file: {err}. {_LEAVE_IT}") from None
    return state


def _migrate(state: State) -> None:
    """Older formats, read into this one (the file itself changes only at the next save)."""
    if state.version < 2:
        kind = (state.spec.get("target") or {}).get("kind") if isinstance(state.spec.get("target"), dict) else None
        if "target" in state.steps and kind in ("aci", "batch"):
            state.steps = {(kind if k == "target" else k): v for k, v in state.steps.items()}
    if state.version < 3 and "federation" in state.spec:
        from .spec import SpecError
        from .spec_legacy import migrate
        try:
            state.spec = migrate(state.spec, "spec")
        except SpecError:
            pass  # left as it was: loading its spec says what to change
        kind = (state.spec.get("target") or {}).get("kind") if isinstance(state.spec.get("target"), dict) else None
        if "federation" in state.steps and kind in ("aks", "github"):
            state.steps = {(kind if k == "federation" else k): v for k, v in state.steps.items()}
    if state.version < 4 and not state.provenance:
        _legacy_provenance(state)
    state.version = FORMAT_VERSION


def _legacy_provenance(state: State) -> None:
    """What a format-3 file shows of provenance: the steps whose last action created their resource (a no-op re-run
    had overwritten the rest, so those stay unknown: destroy keeps what it is not sure it made)."""
    def made(step_id: str) -> dict[str, Any] | None:
        record = state.steps.get(step_id)
        return record.outputs if record and record.status == "done" and record.action in ("create", "recover") else None

    for key, kind in (("identity", "identity"), ("vault", "vault"), ("aci", "container_group")):
        out = made(key)
        if out and out.get("id"):
            state.claim(key, kind=kind, id=str(out["id"]), origin=CREATED, step=key)
    grant = made("grant")
    if grant and grant.get("assignment_id"):
        state.claim("grant", kind="role_assignment", id=str(grant["assignment_id"]), origin=CREATED, step="grant")
    batch = state.steps.get("batch")
    if batch and batch.status == "done" and batch.outputs.get("created") and batch.outputs.get("id"):
        state.claim("batch", kind="pool", id=str(batch.outputs["id"]), origin=CREATED, step="batch")


def describe_target(spec: dict[str, Any]) -> str:
    """A short description of the setup's target from its spec, e.g. "ACI cg-prefect"."""
    target = spec.get("target") if isinstance(spec, dict) else None
    if isinstance(target, str):
        return target
    if not isinstance(target, dict):
        return ""
    kind = str(target.get("kind") or "")
    if kind in ("", "none"):
        return ""
    from .targets import target_kind
    try:
        return target_kind(kind).describe(target)
    except ValueError:
        return kind
