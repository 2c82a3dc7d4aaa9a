"""A setup being chosen in the wizard: its spec and where the person is, saved to the state at every choice.

The screens never write the state themselves; they call this. Every `record` reloads the file first (the
engine saves it after each step) and holds the setup's lock while it writes, so the wizard and the engine
never overwrite each other. What a screen typed but has not confirmed goes to ``ui["answers"]``; confirmed
choices go to the spec. Never pass a secret value here: the secret screen records its source, not its value.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .setup_progress import TARGET_CHOSEN, progress_text, target_text
from .spec import Spec, load_spec
from .state import State
from .state_store import StateStore, list_setups

if TYPE_CHECKING:
    from .drift import Drift
    from .progress import ProgressSink
    from .secrets import SecretSource
    from .session import Session
    from .workspace import Workspace

SCREENS = ("signin", "subscription", "resource_group", "identity", "vault", "secret", "permissions", "target",
           "details", "grants", "review", "apply", "result")
"""The screen ids a setup can be saved at (``ui["screen"]``), in the order the wizard comes to them: what the
state file needs to resume a setup. Which of them a setup shows, and their titles, is the UI's (screens.order)."""
RENAMED_SCREENS = {"federation": "details"}
"""Screens of older versions, as a state file may name them."""


def resume_screen(state: State) -> str:
    """The screen a setup resumes at: the one it was left on; for a setup the CLI made (no screen saved) the
    result once verified, the review once anything was planned or applied, else sign-in."""
    screen = str(state.ui.get("screen", ""))
    screen = RENAMED_SCREENS.get(screen, screen)
    if screen in SCREENS:
        return screen
    verify = state.steps.get("verify")
    if verify is not None and verify.status in ("done", "failed"):
        return "result"
    return "review" if state.steps else "signin"


def suggested_names(setup: str) -> dict[str, str]:
    """Valid default names derived from the setup's name (the person may change each one)."""
    stem = re.sub(r"[^a-z0-9-]", "-", setup.lower())
    stem = re.sub(r"-{2,}", "-", stem).strip("-") or "setup"
    vault = f"kv-{stem}"[:24].rstrip("-")
    return {"identity": f"id-{stem}"[:128], "vault": vault, "secret": "app-secret", "container_group": f"cg-{stem}"[:63],
            "resource_group": f"rg-{stem}"[:90]}


def default_spec(setup: str) -> Spec:
    """A new setup's spec: suggested names, RBAC, a grant on the one secret, a new ACI container group."""
    names = suggested_names(setup)
    return Spec.from_dict({"name": setup, "identity": {"name": names["identity"]}, "vault": {"name": names["vault"]},
                           "secret": {"name": names["secret"]},
                           "target": {"kind": "aci", "container_group": names["container_group"]}})


def _merge(into: dict[str, Any], patch: dict[str, Any]) -> None:
    for key, value in patch.items():
        if key == "target" and isinstance(value, dict) and value.get("kind", (into.get(key) or {}).get("kind")) \
                != (into.get(key) or {}).get("kind"):
            into[key] = dict(value)  # another kind of target: its own table, nothing of the old one's
            continue
        if isinstance(value, dict) and isinstance(into.get(key), dict) and key != "environment":
            _merge(into[key], value)
        else:
            into[key] = value


@dataclass
class DraftSummary:
    """One line of the welcome screen's list of setups."""

    name: str
    path: Path
    progress: str
    """"4/8" once planned (finished of needed steps: setup_progress), else "-"."""
    screen: str
    """Where it resumes: a screen id (SCREENS; the UI shows its title), "" for a broken one."""
    updated: str
    target: str
    """"" until the target is chosen."""
    cloud: str
    broken: str | None = None
    drift: Drift | None = None
    """What no longer holds in Azure (read only with a session on the setup's cloud: `summaries(session=)`)."""

    @property
    def drifted(self) -> bool:
        return self.drift is not None and self.drift.drifted


class Draft:
    """One setup's choices and position; thread-safe (workers and the UI thread may both record)."""

    def __init__(self, store: StateStore):
        self.store = store
        self._lock = threading.Lock()
        self.state: State = store.load()

    @classmethod
    def start(cls, name: str, *, directory: Path | str | None = None, spec: Spec | None = None,
              cloud: str = "public", at: str = "signin") -> Draft:
        """Create the setup's state file (refused when one exists) and stand at screen `at`."""
        store = StateStore.for_setup(name, directory)
        chosen = spec is not None  # a given spec (a spec file) names its target; the default's is not chosen
        spec = spec or default_spec(name)
        spec.name = name
        store.create(name, spec.to_dict())
        draft = cls(store)
        draft.record(at=at, ui={"cloud": cloud, TARGET_CHOSEN: chosen})
        return draft

    @classmethod
    def from_spec_file(cls, path: Path | str, *, directory: Path | str | None = None,
                       cloud: str = "public") -> Draft:
        """A new setup from a spec file, standing at the review screen (every choice is already made)."""
        spec = load_spec(path)
        if not spec.name:
            spec.name = Path(path).stem
        return cls.start(spec.name, directory=directory, spec=spec, cloud=cloud, at="review")

    @classmethod
    def open(cls, path: Path | str) -> Draft:
        return cls(StateStore(path))

    # -- reading --------------------------------------------------------------------------------------------
    @property
    def name(self) -> str:
        return self.state.name

    @property
    def spec(self) -> Spec:
        return Spec.from_dict(self.state.spec)

    @property
    def screen(self) -> str:
        """The screen to resume at."""
        return resume_screen(self.state)

    @property
    def cloud(self) -> str:
        return str(self.state.ui.get("cloud", "public"))

    def answers(self, screen: str) -> dict[str, Any]:
        return dict(self.state.ui.get("answers", {}).get(screen, {}))

    def outputs(self, step_id: str) -> dict[str, Any]:
        record = self.state.steps.get(step_id)
        return dict(record.outputs) if record else {}

    def statuses(self) -> dict[str, str]:
        return {step_id: record.status for step_id, record in self.state.steps.items()}

    def reload(self) -> Draft:
        with self._lock:
            self.state = self.store.load()
        return self

    # -- writing --------------------------------------------------------------------------------------------
    def record(self, *, at: str | None = None, screen: str | None = None, answers: dict[str, Any] | None = None,
               spec: dict[str, Any] | None = None, ui: dict[str, Any] | None = None) -> None:
        """Save a choice: `answers` of `screen` (as typed), a `spec` patch (confirmed), the screen now `at`."""
        if at is not None and at not in SCREENS:
            raise ValueError(f"unknown screen {at!r}")
        with self._lock, self.store.lock():
            state = self.store.load()  # the engine may have saved since we last looked
            if spec:
                _merge(state.spec, spec)
                Spec.from_dict(state.spec)  # refuse a patch that would make the spec unreadable
                if "target" in spec:  # confirmed on the target (or its details) screen: the list shows it now
                    state.ui[TARGET_CHOSEN] = True
            if answers is not None and screen:
                state.ui.setdefault("answers", {})[screen] = answers
            if ui:
                state.ui.update(ui)
            if at is not None:
                state.ui["screen"] = at
            self.store.save(state)
            self.state = state

    def record_plan(self, items: list[dict[str, Any]]) -> None:
        """The confirmed plan: its steps (and the verification) become pending records, so the setup shows
        "0/8" progress, and a short copy (step, title, action) goes to ``ui["plan"]`` for the apply screen.
        Pending records of steps no longer planned (the target was dropped) are removed."""
        wanted = [str(i["step"]) for i in items] + ["verify"]
        with self._lock, self.store.lock():
            state = self.store.load()
            for step_id in [s for s, r in state.steps.items() if s not in wanted and r.status == "pending"]:
                del state.steps[step_id]
            for step_id in wanted:
                state.step(step_id)
            # What was reviewed, whole: apply carries out this plan and shows what changed if Azure moved on.
            state.ui["plan"] = [{k: i[k] for k in ("step", "title", "action", "reason", "details") if k in i}
                                for i in items]
            self.store.save(state)
            self.state = state

    def planned(self) -> list[dict[str, Any]]:
        """The confirmed plan's items (step, title, action, reason, details), as saved by record_plan."""
        return list(self.state.ui.get("plan", []))

    def export_spec(self, path: Path | str) -> Path:
        """Write the choices as a shareable spec file (never a secret value)."""
        from .spec import save_spec
        path = Path(path).expanduser()
        save_spec(self.spec, path)
        return path

    # -- running --------------------------------------------------------------------------------------------
    def secret_source(self, typed: Callable[[], str] | None) -> SecretSource | None:
        """Where the engine reads the secret: the file named on the secret screen, or what was typed (kept in
        memory by the caller); None when the value must be asked for again."""
        from .secrets import SecretSource, in_memory
        answers = self.answers("secret")
        if answers.get("source") == "file" and answers.get("file"):
            return SecretSource("file", str(answers["file"]))
        return in_memory(typed) if typed is not None else None

    def workspace(self, session: Session, *, sink: ProgressSink, cancel: threading.Event,
                  secret_source: SecretSource | None) -> Workspace:
        """This setup opened for planning, applying and verifying, sharing this draft's store (its lock is
        re-entrant for us)."""
        from .workspace import Workspace
        return Workspace(session, self.spec, self.store, sink=sink, cancel=cancel, secret_source=secret_source)


def summaries(directory: Path | str | None = None, *, session: Session | None = None) -> list[DraftSummary]:
    """Every setup in the state directory, for the welcome screen (most recently touched first).

    With `session`: each setup made on that session's cloud also gets its drift, read from Azure (slow: call it
    from a worker, after the list without it was shown)."""
    out = []
    here = ("sandbox" if session.profile.is_sandbox else session.profile.name) if session is not None else None
    for s in list_setups(directory):
        if s.broken:
            out.append(DraftSummary(s.name, s.path, "-", "", "", "", "", broken=s.broken))
            continue
        try:
            state = StateStore(s.path).load()
        except Exception as err:  # noqa: BLE001 - changed under our feet: show it as broken
            out.append(DraftSummary(s.name, s.path, "-", "", "", "", "", broken=str(err)))
            continue
        screen = resume_screen(state)
        cloud = str(state.ui.get("cloud", "public"))
        summary = DraftSummary(s.name, s.path, progress_text(state), screen, s.updated, target_text(state), cloud)
        if session is not None and cloud == here:
            from .drift import setup_drift
            summary.drift = setup_drift(session, state)
        out.append(summary)
    return sorted(out, key=lambda d: d.updated, reverse=True)
