"""The setup engine: refresh -> plan -> apply -> verify, saving the state after every step.

Steps form a dependency graph; what does not depend on each other runs at the same time (the identity is
created while the vault's long creation runs), so a setup takes the graph's critical path, not the sum of
its steps. All validation happens in `plan()`, before the first write.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import asdict, dataclass, field, fields, is_dataclass
from datetime import datetime
from typing import Any

from .azure.errors import explain
from .progress import Cancelled, ProgressSink, StepFailed, StepFinished, StepStarted, null_sink
from .spec import Spec
from .state import State
from .state_store import StateStore
from .steps.base import NOTHING, PlanItem, RunContext, Step, StepError
from .steps.extra_grants import ExtraGrantsStep
from .steps.grant import GrantStep
from .steps.identity import IdentityStep
from .steps.operator_access import OperatorAccessStep
from .steps.resource_group import ResourceGroupStep
from .steps.secret import SecretStep
from .steps.vault import VaultStep
from .targets import step_classes
from .waits import WaitExpired

COMMON_STEPS: tuple[type[Step], ...] = (ResourceGroupStep, IdentityStep, VaultStep, OperatorAccessStep, SecretStep,
                                        GrantStep, ExtraGrantsStep)
ALL_STEPS: tuple[type[Step], ...] = COMMON_STEPS + tuple(step_classes())
"""Every step: the common ones, then each target kind's own (wizard/targets/)."""
VAULT_STEPS = frozenset({"vault", "operator_access", "secret", "grant", "probe"})
"""Skipped by a setup without a vault (vault.name = ""), e.g. GitHub OIDC with a role and nothing else."""


def _check_edges(steps: tuple[type[Step], ...]) -> None:
    """An edge naming no step is a typo, not an edge to ignore: refuse it when the engine is imported."""
    ids = {cls.id for cls in steps}
    for cls in steps:
        unknown = [r for r in cls.requires if r not in ids]
        if unknown:
            raise ImportError(f"step {cls.id!r} requires unknown step(s) {unknown}; known: {sorted(ids)}")


_check_edges(ALL_STEPS)


def steps_for(spec: Spec, *, probe: bool = True) -> list[Step]:
    """The steps a spec needs, in plan order (`probe=False`: without the live probe, as `apply --no-verify`)."""
    return [step for step in (cls() for cls in ALL_STEPS)
            if step.applies(spec) and (spec.uses_vault or step.id not in VAULT_STEPS)
            and (probe or not step.proves)]


class PlanError(Exception):
    """The plan found problems; nothing was changed."""

    def __init__(self, problems: list[str]):
        super().__init__("; ".join(problems))
        self.problems = problems


class RunFailed(Exception):
    """A step failed; the state records which, with the error, and a resume continues from there."""

    def __init__(self, step: str, code: str, explanation: str, fix: str, message: str = ""):
        super().__init__(f"{step}: {code}: {explanation}")
        self.step, self.code, self.explanation, self.fix, self.message = step, code, explanation, fix, message


@dataclass
class Plan:
    items: list[PlanItem]
    problems: list[str] = field(default_factory=list)

    @property
    def writes(self) -> bool:
        return any(i.writes for i in self.items)

    def item(self, step_id: str) -> PlanItem | None:
        return next((i for i in self.items if i.step == step_id), None)

    def to_dict(self) -> dict[str, Any]:
        return {"items": [i.to_dict() for i in self.items], "problems": self.problems, "writes": self.writes}


def run_graph(steps: list[Step], work: Callable[[Step], None], *, spec: Spec, workers: int = 3,
              cancel: threading.Event | None = None) -> None:
    """Run `work(step)` for every step once all its (applicable) requirements have run; stop at the first error.
    Interrupted here (Ctrl-C, SIGTERM), `cancel` is set before the pool is waited for, so the steps' waits stop."""
    ids = {s.id for s in steps}
    needs = {s.id: s.requires_for(spec) for s in steps}
    done: set[str] = set()
    started: set[str] = set()
    first_error: BaseException | None = None
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="step") as pool:
        running: dict[Future[None], Step] = {}
        try:
            while True:
                if first_error is None:
                    for step in steps:
                        if step.id not in started and all(r in done or r not in ids for r in needs[step.id]):
                            started.add(step.id)
                            running[pool.submit(work, step)] = step
                if not running:
                    break
                finished, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in finished:
                    step = running.pop(future)
                    if future.exception() is not None:
                        first_error = first_error or future.exception()
                    else:
                        done.add(step.id)
        except BaseException:
            if cancel is not None:
                cancel.set()  # the pool's exit waits for its steps: they must stop waiting first
            raise
    if first_error is not None:
        raise first_error


class Engine:
    """Plans and applies one setup. Thread-safe progress goes to `sink`; `cancel` stops waits and the run."""

    def __init__(self, spec: Spec, clients: Any, store: StateStore, *, operator: Any, sink: ProgressSink = null_sink,
                 cancel: threading.Event | None = None, secret_source: Any = None, workers: int = 4,
                 probe: bool = True):
        self.spec, self.clients, self.store = spec, clients, store
        self.operator, self.sink = operator, sink
        self.cancel = cancel or threading.Event()
        self.secret_source, self.workers = secret_source, workers
        self.steps = steps_for(spec, probe=probe)
        self._state_lock = threading.RLock()
        self._state: State | None = None
        self._ctx: RunContext | None = None
        self.reads_fresh = False
        """Set by an apply that wrote nothing; the verification right after it reads nothing again."""

    # ---- state ---------------------------------------------------------------------------------------
    def open_state(self) -> State:
        """Load the setup's state; a new setup's state lives in memory until the first write (plan reads only)."""
        if self._state is None:
            if self.store.exists():
                state = self.store.load()
                state.spec = self.spec.to_dict()
            else:
                state = State(name=self.spec.name, spec=self.spec.to_dict())
            ctx = RunContext(spec=self.spec, clients=self.clients, state=state, operator=self.operator,
                             sink=self.sink, cancel=self.cancel, save=self.save, secret_source=self.secret_source)
            ctx.probe = any(s.proves for s in self.steps)
            ctx.state_lock = self._state_lock
            self._state, self._ctx = state, ctx
        return self._state

    @property
    def state(self) -> State:
        """The setup's state (opened on first use)."""
        return self.open_state()

    @property
    def ctx(self) -> RunContext:
        """What every step of this run shares (opened with the state)."""
        self.open_state()
        assert self._ctx is not None
        return self._ctx

    def save(self) -> None:
        with self._state_lock:
            state = self.state
            if state.serial == 0:  # never saved: create the file (refuses to replace one made meanwhile)
                created = self.store.create(state.name, state.spec)
                created.steps, created.ui, created.log = state.steps, state.ui, state.log
                self._state = self.ctx.state = state = created
            self.store.save(state)

    def _record(self, step_id: str, **changes: Any) -> None:
        with self._state_lock:
            self.state.step(step_id).update(**changes)
            self.save()

    # ---- plan ----------------------------------------------------------------------------------------
    def plan(self) -> Plan:
        """Read Azure for every step and decide create / update / adopt / nothing, validating everything."""
        self.open_state()
        problems = [f"spec {p}" for p in self.spec.validate()]
        if problems:
            return Plan(items=[], problems=problems)
        items: dict[str, PlanItem] = {}
        lock = threading.Lock()

        def plan_step(step: Step) -> None:
            item = step.plan(self.ctx, step.refresh(self.ctx))
            with lock:
                items[step.id] = item
                self.ctx.planned[step.id] = item

        self.ctx.planned.clear()
        try:
            run_graph(self.steps, plan_step, spec=self.spec, workers=self.workers, cancel=self.cancel)
        except Exception as exc:  # noqa: BLE001 - any Azure error while reading is a plan problem
            info = explain(exc)
            return Plan(items=[items[s.id] for s in self.steps if s.id in items],
                        problems=[f"{info.code}: {info.explanation} {info.message} Fix: {info.fix}"])
        ordered = [items[s.id] for s in self.steps]
        for item in ordered:
            _check_plain(item.data, f"{item.step}.data")
        self._decide_probe(ordered)
        problems = [p for i in ordered for p in i.problems]
        identity = items.get("identity")
        if self.spec.identity.existing and identity is not None and identity.action == "create":
            problems.append(f"identity: no identity {self.spec.identity.name} in {self.spec.identity_group}, and "
                            "identity.existing = true says it must exist (mi-wizard will not create it). Check the "
                            "name and resource group (e.g. the platform's resource group).")
        return Plan(items=ordered, problems=problems)

    def _decide_probe(self, items: list[PlanItem]) -> None:
        """The probe runs when it can tell something new: something changes, or the last check did not pass.
        So a second apply of the same spec makes no write at all."""
        passed = self.state.step("verify").status == "done"
        for step in (s for s in self.steps if s.proves):
            probe = next(i for i in items if i.step == step.id)
            if passed and self.state.step(step.id).status == "done" and not any(i.writes for i in items):
                probe.action, probe.reason = NOTHING, "Nothing changes and the last verification passed."

    # ---- apply ---------------------------------------------------------------------------------------
    def apply(self, plan: Plan | None = None) -> State:
        """Carry out the plan (planning first if needed). Raises PlanError before any write if it has problems."""
        with self.store.lock():
            plan = plan or self.plan()
            if plan.problems:
                raise PlanError(plan.problems)
            self.state.add_log("apply started")
            self.save()
            # What earlier runs left to finish goes on beside the graph, never in its way.
            chores = [c for c in (s.leftovers(self.ctx) for s in self.steps) if c is not None]
            with ThreadPoolExecutor(max_workers=2, thread_name_prefix="leftovers") as background:
                finishing = [background.submit(chore) for chore in chores]
                items = {i.step: i for i in plan.items}  # the plan was made for exactly these steps
                run_graph(self.steps, lambda step: self._apply_step(step, items[step.id]), spec=self.spec,
                          workers=self.workers, cancel=self.cancel)
                for future in finishing:
                    future.result()
            self.state.add_log("apply finished")
            self.save()
            # Nothing was written: what the plan read a moment ago is what Azure has, for the verification next.
            self.reads_fresh = not plan.writes
            return self.state

    def _apply_step(self, step: Step, item: PlanItem) -> None:
        if self.cancel.is_set():
            raise Cancelled("stopped before " + step.id)
        self.sink(StepStarted(step=step.id, title=step.title, action=item.action))
        if item.writes:
            self._record(step.id, status="running", action=item.action, reason=item.reason, error=None)
        try:
            outputs = step.apply(self.ctx, item)
        except Cancelled:
            self._record(step.id, status="waiting", error={"code": "Stopped", "message": "stopped by the user",
                                                           "fix": "Resume the setup to continue."})
            raise
        except StepError as err:
            self._fail(step, err.code, err.explanation, err.fix, err.message)
        except WaitExpired as err:
            self._fail(step, "StillPropagating", f"Waited {err.limit_s:.0f} s for {err.reason}.",
                       "Azure can take longer; resume later and mi-wizard checks again.")
        except Exception as exc:  # noqa: BLE001 - every other Azure error stops the run, explained
            info = explain(exc)
            self._fail(step, info.code, info.explanation, info.fix, info.message)
        if is_dataclass(outputs) and not isinstance(outputs, type):
            outputs = asdict(outputs)  # typed for the steps after it; a plain record in the state
        self._record(step.id, status="done", action=item.action, reason=item.reason, outputs=outputs, error=None,
                     lro=None)
        self.sink(StepFinished(step=step.id, action=item.action, outputs=outputs))

    def _fail(self, step: Step, code: str, explanation: str, fix: str, message: str = "") -> None:
        self._record(step.id, status="failed", error={"code": code, "message": message or explanation, "fix": fix})
        self.sink(StepFailed(step=step.id, code=code, explanation=explanation, fix=fix, message=message))
        raise RunFailed(step.id, code, explanation, fix, message)


def _check_plain(value: Any, where: str) -> None:
    """A plan is data: what apply gets from plan is values and mi-wizard's own dataclasses, never a live SDK
    object (which a saved or reviewed plan could not hold, and which apply could change behind the plan's back)."""
    if value is None or isinstance(value, (str, int, float, bool, datetime)):
        return
    if isinstance(value, (list, tuple)):
        for n, part in enumerate(value):
            _check_plain(part, f"{where}[{n}]")
    elif isinstance(value, dict):
        for key, part in value.items():
            _check_plain(part, f"{where}.{key}")
    elif is_dataclass(value) and type(value).__module__.startswith("wizard."):
        for f in fields(value):
            _check_plain(getattr(value, f.name), f"{where}.{f.name}")
    else:
        raise TypeError(f"plan item {where} holds a {type(value).__module__}.{type(value).__name__}: plan items "
                        "hold data (values, mi-wizard's dataclasses), never SDK objects")


def verify_setup(engine: Engine, *, probe: bool | None = None) -> Any:
    """Check the finished setup's chain; record the report as the state's "verify" step.

    When this apply ran the live probe (a step of the graph), its verdict is used: nothing is probed twice.
    Otherwise `probe=None` runs the probe only when it can tell something new: this run changed something, or
    the last verification did not pass (so a second apply of the same spec makes no write at all).
    """
    from .verify import Checker, target_from_state
    state = engine.open_state()
    started = _last(state, "apply started")
    verdict = None
    for step in (s for s in engine.steps if s.proves and probe is None):
        probed = state.step(step.id)
        if probed.status == "done" and probed.updated >= started and probed.action != NOTHING:
            verdict, probe = probed.outputs.get("verdict"), False
    if probe is None:
        changed = any(state.step(s.id).action in ("create", "update", "recover") and state.step(s.id).status == "done"
                      and state.step(s.id).updated >= started for s in engine.steps)
        probe = engine.spec.verify.probe and (changed or state.step("verify").status != "done")
    unchanged, engine.reads_fresh = engine.reads_fresh, False  # good for the verification right after apply only
    checker = Checker(engine.clients, target_from_state(state), sink=engine.sink, cancel=engine.cancel,
                      probe_image=engine.spec.verify.probe_image, wait_limit_s=engine.spec.verify.wait_limit_s,
                      reads=engine.ctx.read, reuse=unchanged)
    report = checker.run(probe=probe, verdict=verdict)
    if probe or verdict is not None or state.step("verify").status != "done":
        broken = report.broken
        failed = {"code": "VerificationFailed", "message": broken.detail if broken else "no link was checked",
                  "fix": broken.fix if broken else ""}
        with engine.store.lock():  # another mi-wizard may be resuming this setup meanwhile
            engine._record("verify", status="done" if report.passed else "failed", action="",
                           reason="verified" if report.passed else f"broken: {broken.name if broken else '-'}",
                           outputs=report.to_dict(), error=None if report.passed else failed)
    return report


def _last(state: State, event: str) -> str:
    for line in reversed(state.log):
        at, _, text = str(line).partition(" ")
        if text == event:
            return at
    return ""
