"""One entry point for running a setup: the CLI and the UI open a Workspace and plan, apply, verify and doctor
through it. The sequence plan -> (the plan promised?) -> apply -> verify is written here, once.

A Workspace holds a session (the signed-in cloud), the setup's spec and state store, where progress goes and how
to stop. It builds the engine; it never prints or draws anything.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .progress import ProgressSink, null_sink

if TYPE_CHECKING:
    from .engine import Engine, Plan
    from .saved_plan import SavedPlan
    from .secrets import SecretSource
    from .session import Session
    from .spec import Spec
    from .state import State
    from .state_store import StateStore
    from .verify import Report, Target


class PlanChanged(Exception):
    """What Azure (or another run) changed since the plan that was reviewed or saved: nothing was written."""

    def __init__(self, changes: list[str], fresh: list[dict[str, Any]]):
        super().__init__("; ".join(changes))
        self.changes, self.fresh = changes, fresh


@dataclass
class Applied:
    state: State
    report: Report | None
    """The verification right after apply (None with verify=False)."""


class Workspace:
    def __init__(self, session: Session, spec: Spec, store: StateStore, *, sink: ProgressSink = null_sink,
                 cancel: threading.Event | None = None, secret_source: SecretSource | None = None,
                 probe: bool = True):
        self.session, self.spec, self.store = session, spec, store
        self.sink, self.cancel = sink, cancel or threading.Event()
        self.secret_source, self.probe = secret_source, probe
        self._engine: Engine | None = None

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            from .engine import Engine
            clients = self.session.for_subscription(self.session.resolve_subscription(self.spec.subscription))
            self._engine = Engine(self.spec, clients, self.store, operator=self.session.operator, sink=self.sink,
                                  cancel=self.cancel, secret_source=self.secret_source, probe=self.probe)
            # The cloud it is made on, as the wizard records it: a setup the CLI made is then listed (and resumed)
            # on the right one. Saved with the state's first write.
            self._engine.open_state().ui.setdefault("cloud", self.session.profile.name)
        return self._engine

    # ---- the sequence ------------------------------------------------------------------------------------
    def preflight(self) -> None:
        """Every input checked before anything else: the spec's values (SpecError), its location against the
        subscription (SpecError) and the secret value, read once into memory (SecretSourceError)."""
        from .azure.locations import location_problem
        from .spec import SpecError
        problems = self.spec.validate()
        if self.spec.reproduce.any() and not self.session.profile.is_sandbox:
            problems.append("reproduce: a spec that rebuilds broken links ([reproduce]) is applied only on the sandbox "
                            "(--sandbox); remove the table to make this setup in Azure, working.")
        if problems:
            raise SpecError(f"The spec has {len(problems)} problem{'s' if len(problems) > 1 else ''} (nothing was "
                            "changed):\n" + "\n".join(f"  - {p}" for p in problems))
        problem = location_problem(self.engine.clients, self.spec.location)
        if problem:
            raise SpecError(f"{problem} (Nothing was changed.)")
        if self.secret_source is not None and self.spec.uses_vault:
            self.secret_source.prepare()  # read once and checked now; the secret step gets this same value

    def plan(self) -> Plan:
        """Check every input, then read Azure and decide every step (no write)."""
        self.preflight()
        return self.engine.plan()

    def apply(self, plan: Plan, *, promised: list[dict[str, Any]] | None = None, saved: SavedPlan | None = None,
              verify: bool = True) -> Applied:
        """Carry out `plan` (made by `plan()` just before), or nothing at all:
        - a plan with problems raises PlanError;
        - `promised` (the plan the person reviewed) or `saved` (a plan file) that no longer matches raises
          PlanChanged / StalePlan, before any write;
        then apply, and verify (reusing what the plan read when nothing was written)."""
        from .engine import PlanError, verify_setup
        from .saved_plan import check_current, plan_changes
        if plan.problems:
            raise PlanError(plan.problems)
        fresh = [i.to_dict() for i in plan.items]
        if saved is not None:
            check_current(saved, self.engine.open_state(), fresh)
        if promised:
            changes = plan_changes(promised, fresh)
            if changes:
                raise PlanChanged(changes, fresh)
        state = self.engine.apply(plan)
        probe: bool | None = None
        if self.spec.reproduce.any():  # refused by preflight off the sandbox
            from .reproduce import break_links
            state = break_links(self.engine, self.secret_source)
            probe = self.spec.verify.probe  # the probe that ran during apply predates the breaking
        return Applied(state, verify_setup(self.engine, probe=probe) if verify else None)

    def verify(self, *, probe: bool | None = True) -> Report:
        """Check every link of the setup as its state records it (a live probe with probe=True)."""
        from .engine import verify_setup
        report: Report = verify_setup(self.engine, probe=probe)
        return report

    def state(self) -> State:
        return self.engine.open_state()


def verify_state(session: Session, state: State, *, sink: ProgressSink = null_sink, probe: bool = True) -> Report:
    """`mi-wizard verify SETUP`: the links of a setup from its state file alone (its spec may be older)."""
    from .azure.scopes import subscription_of
    from .verify import Checker, target_from_state
    sub = subscription_of(state.step("identity").outputs["id"])  # written by apply: a well-formed id
    checker = Checker(session.for_subscription(sub), target_from_state(state), sink=sink,
                      wait_limit_s=state.spec.get("verify", {}).get("wait_limit_s", 900.0))
    return checker.run(probe=probe)


def doctor(session: Session, target: Target, *, sink: ProgressSink = null_sink, probe: bool = True) -> Report:
    """The same checks on a setup mi-wizard did not make."""
    from .azure.scopes import subscription_of
    from .verify import Checker
    return Checker(session.for_subscription(subscription_of(target.identity_id)), target, sink=sink).run(
        probe=probe)
