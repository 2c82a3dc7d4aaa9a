"""The headless commands behind `mi-wizard plan|apply|status|verify|doctor`."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .session import Session
    from .state import State
    from .state_store import StateStore

from .cli import BAD_INPUT, CHANGES_PENDING, NO_SIGN_IN, OK, PLAN_PROBLEMS, STEP_FAILED, STOPPED, VERIFY_FAILED, emit
from .progress import STDERR_LOCK

Command = Callable[[Any], int]


def _session(args: Any) -> Session | None:
    """Signed in as the options say (wizard/connect.py): None when signing in failed (said, with the fix). plan and
    apply sign in once their input is checked (`_workspace`)."""
    from .connect import open_for
    return open_for(args, prove=getattr(args, "command", "") not in ("plan", "apply"))


def _with_session(command: Callable[[Any, Session], int]) -> Command:
    """Open the connection the command asked for, pass it in, and always close it (a sandbox stops with it)."""
    def run(args: Any) -> int:
        session = _session(args)
        if session is None:
            return NO_SIGN_IN
        try:
            return command(args, session)
        finally:
            session.close()
    return run


def _store(args: Any, name: str) -> StateStore:
    from .state_store import StateStore
    return StateStore(args.state) if getattr(args, "state", None) else StateStore.for_setup(name)


_wait_line_open = [False]
"""A wait's line is on the terminal and the next output rewrites it (TTY only)."""


def _print_event(event: Any) -> None:
    from .progress import CheckResult, StepFailed, StepFinished, StepMessage, StepStarted, Waiting
    with STDERR_LOCK:  # events come from the steps' threads
        if isinstance(event, Waiting):
            text = (f"    waiting for {event.reason}: {event.elapsed_s:.0f}s of at most {event.limit_s:.0f}s "
                    f"(next check in {event.next_check_s:.0f}s; Ctrl-C to stop and resume later)")
            if sys.stderr.isatty():
                # One line that counts up in place, not a new line at every check.
                print(f"\r\x1b[2K{text}", end="", file=sys.stderr, flush=True)
                _wait_line_open[0] = True
            else:
                print(text, file=sys.stderr)
            return
        if _wait_line_open[0]:
            print(file=sys.stderr)  # keep the wait's last state, then go on below it
            _wait_line_open[0] = False
        if isinstance(event, StepStarted):
            print(f"- {event.title}: {event.action}", file=sys.stderr)
        elif isinstance(event, StepMessage):
            print(f"    {event.text}", file=sys.stderr)
        elif isinstance(event, StepFinished):
            print("    done", file=sys.stderr)
        elif isinstance(event, StepFailed):
            print(f"    FAILED {event.code}: {event.explanation}\n    fix: {event.fix}", file=sys.stderr)
        elif isinstance(event, CheckResult):
            mark = "ok " if event.ok else ("..." if event.pending else "BROKEN")
            print(f"  [{mark}] {event.link}: {event.detail}" + (f"\n         fix: {event.fix}"
                                                                 if event.fix and not event.ok else ""),
                  file=sys.stderr)


def _json_event(event: Any) -> None:
    """`--json`: each progress event as one JSON line on stderr (stdout keeps the final result)."""
    import json
    from dataclasses import asdict, is_dataclass
    data = asdict(event) if is_dataclass(event) and not isinstance(event, type) else {"text": str(event)}
    line = json.dumps({"event": type(event).__name__, **data}, default=str) + "\n"
    with STDERR_LOCK:  # events come from the steps' threads: one whole line at a time, never two interleaved
        sys.stderr.write(line)
        sys.stderr.flush()


def _has_terminal() -> bool:
    try:
        return sys.stdin is not None and sys.stdin.isatty()
    except (AttributeError, ValueError, OSError):  # closed or replaced stdin
        return False


def _workspace(args: Any, session: Any, *, secret_from: str | None) -> Any:
    """The setup named on the command line, opened for planning and applying (every input is checked by its
    plan before the first write: bad input is exit 2 and nothing made)."""
    from .connect import chosen_subscription
    from .secrets import parse_secret_source
    from .spec import SpecError, load_spec
    from .spec_values import setup_name_problem
    from .workspace import Workspace
    spec = chosen_subscription(args, _spec_arg(args, load_spec))
    if secret_from == "prompt" and not args.secret_from and not _has_terminal():
        secret_from = None  # the default prompt needs a terminal; without one the plan says a source is missing
    source = parse_secret_source(secret_from) if secret_from else None
    sink = _json_event if args.json else _print_event
    problem = setup_name_problem(spec.name)  # it names the state file, opened next: checked before anything else
    if problem:
        raise SpecError(f"The spec has 1 problem (nothing was changed):\n  - name: {problem}")
    store = _store(args, spec.name)
    if store.path.exists():
        from .state_binding import binding_problem
        bound = binding_problem(store.load(), spec, str(store.path))
        if bound:
            raise SpecError(bound)
    from .connect import prove_signin
    prove_signin(args, session)  # after every input check: bad input is refused before Azure is asked anything
    return Workspace(session, spec, store, sink=sink, secret_source=source,
                     probe=not getattr(args, "no_verify", False))


def _spec_arg(args: Any, load_spec: Any) -> Any:
    """The spec named on the command line, or the one a saved plan (`apply PLAN`) was made from."""
    from .spec import Spec
    saved = getattr(args, "saved_plan", None)
    return Spec.from_dict(saved.spec, source=str(args.spec)) if saved is not None else load_spec(args.spec)


def _format_plan(plan: Any) -> str:
    lines = []
    for item in plan.items:
        # A step that found a problem decides nothing: say so rather than print an empty reason.
        reason = item.reason or (f"cannot be planned: {item.problems[0]}" if item.problems else "nothing to say")
        lines.append(f"{item.action.upper():8} {item.title}: {reason}")
        lines += [f"         - {d}" for d in item.details]
    if plan.problems:
        lines.append("\nProblems (nothing was changed):")
        lines += [f"  - {p}" for p in plan.problems]
    return "\n".join(lines)


def _guarded(fn: Command) -> Command:
    """Turn the known failures into a clear message and exit code; the state is never left half-written."""
    def run(args: Any) -> int:
        from .azure.errors import explain
        from .engine import PlanError, RunFailed
        from .progress import Cancelled
        from .saved_plan import StalePlan
        from .secrets import SecretSourceError
        from .session import SessionError, SignInFailed
        from .spec import SpecError
        from .state import StateError
        try:
            return fn(args)
        except SignInFailed as err:  # its real cause and the one command that fixes it (wizard/azure/signin.py)
            from .connect import report_failure
            report_failure(args, err)
            return NO_SIGN_IN
        except (SpecError, StateError, SecretSourceError, SessionError) as err:
            emit(args, f"mi-wizard: {err}", {"error": {"code": type(err).__name__, "message": str(err)}})
            return BAD_INPUT
        except StalePlan as err:
            emit(args, "The saved plan is stale; nothing was changed:\n" + "\n".join(f"  - {c}" for c in err.changes)
                 + "\nMake a new plan (`mi-wizard plan SPEC --out PLAN`), review it, and apply that.",
                 {"error": {"code": "StalePlan", "changes": err.changes}})
            return BAD_INPUT
        except PlanError as err:
            emit(args, "The plan found problems; nothing was changed:\n" + "\n".join(f"  - {p}" for p in err.problems),
                 {"error": {"code": "PlanProblems", "problems": err.problems}})
            return PLAN_PROBLEMS
        except RunFailed as err:
            emit(args, f"Step {err.step} failed: {err.code}: {err.explanation}\n  fix: {err.fix}\n"
                       "The state records where it stopped; run apply again to resume.",
                 {"error": {"step": err.step, "code": err.code, "explanation": err.explanation, "fix": err.fix}})
            return STEP_FAILED
        except Cancelled as err:
            emit(args, f"Stopped: {err}. Run the same command again to resume.", {"error": {"code": "Stopped"}})
            return STOPPED
        except Exception as err:  # noqa: BLE001 - sign-in and network failures
            info = explain(err)
            if info.code in ("AuthenticationFailed", "NotSignedIn", "NetworkError"):
                emit(args, f"mi-wizard: {info.code}: {info.explanation} Fix: {info.fix}", {"error": info.to_dict()})
                return NO_SIGN_IN
            raise
    return run


@_guarded
@_with_session
def cmd_plan(args: Any, session: Any) -> int:
    workspace = _workspace(args, session, secret_from=args.secret_from or "prompt")
    plan = workspace.plan()
    if args.out and not plan.problems:
        from .saved_plan import SavedPlan, save_plan
        from .state import now_iso
        state = workspace.state()
        save_plan(args.out, SavedPlan(setup=workspace.spec.name, spec=workspace.spec.to_dict(),
                                      items=[i.to_dict() for i in plan.items],
                                      lineage=state.lineage if state.serial > 0 else None, serial=state.serial,
                                      secret_from=args.secret_from, created=now_iso()))
    saved = f"\n\nSaved to {args.out}: `mi-wizard apply {args.out}` carries out exactly this plan." if (
        args.out and not plan.problems) else ""
    emit(args, _format_plan(plan) + saved, plan.to_dict())
    if plan.problems:
        return PLAN_PROBLEMS
    if args.detailed_exitcode:
        return CHANGES_PENDING if plan.writes else OK
    return OK


@_guarded
@_with_session
def cmd_apply(args: Any, session: Any) -> int:
    from .engine import PlanError
    from .outputs import next_steps_for_state
    from .saved_plan import StalePlan, is_plan_file, load_plan, state_changes
    saved = load_plan(args.spec) if is_plan_file(args.spec) else None
    args.saved_plan = saved
    secret_from = args.secret_from or (saved.secret_from if saved else None) or "prompt"
    workspace = _workspace(args, session, secret_from=secret_from)
    if saved is not None and state_changes(saved, workspace.state()):  # said first: nothing else matters then
        raise StalePlan(state_changes(saved, workspace.state()))
    plan = workspace.plan()
    if plan.problems:
        raise PlanError(plan.problems)
    if not args.json:
        print(_format_plan(plan))
    if plan.writes and not args.yes and saved is None:  # a saved plan was reviewed when it was made
        if not sys.stdin.isatty():
            emit(args, "Not applied: pass --yes to apply without a prompt.", {"error": {"code": "NeedsYes"}})
            return BAD_INPUT
        if input("Apply these changes? [y/N] ").strip().lower() not in ("y", "yes"):
            print("Nothing was changed.")
            return OK
    try:
        applied = workspace.apply(plan, saved=saved, verify=not args.no_verify)
    except KeyboardInterrupt:
        workspace.cancel.set()
        raise
    steps = next_steps_for_state(applied.state)
    report = applied.report
    if report is None:
        emit(args, "Applied (not verified)." + ("\n\nNext steps:\n" + steps if steps else ""),
             {"applied": True, "state": str(workspace.store.path), "next_steps": steps})
        return OK
    from .verify_summary import passed_summary
    done = passed_summary(report.to_dict(), uses_vault=workspace.spec.uses_vault)
    broken = report.broken
    emit(args, (done + ("\n\nNext steps:\n" + steps if steps else "")) if report.passed else
         f"Applied, but verification {'could not finish' if broken.pending else 'found a broken link'}: "
         f"{broken.name}: {broken.detail}\n  fix: {broken.fix}",
         {"applied": True, "state": str(workspace.store.path), "verify": report.to_dict(), "next_steps": steps})
    if report.passed:
        return OK
    return STOPPED if broken.pending else VERIFY_FAILED


def _load_state(ref: str) -> tuple[StateStore, State]:
    from .state_store import StateStore
    path = Path(ref)
    store = StateStore(path) if path.suffix == ".json" or path.exists() else StateStore.for_setup(ref)
    return store, store.load()


def _action_words(status: str, action: str) -> str:
    """A step's action as what happened (done: "created") or what is to happen ("to create")."""
    from .progress import DONE_WORDS
    if status == "done":
        return DONE_WORDS.get(action, action)
    return f"to {action}" if action and action != "nothing" else action


@_guarded
def cmd_status(args: Any) -> int:
    """A setup's steps from its state file and, unless --offline, what no longer holds in Azure (drift)."""
    from .state_store import list_setups
    if not args.state:
        setups = list_setups()
        rows = [f"{s.name:24} {s.progress:8} {s.updated:22} {s.target}" + (f"  ({s.broken})" if s.broken else "")
                for s in setups]
        header = f"{'SETUP':24} {'STEPS':8} {'LAST RUN':22} TARGET"
        emit(args, "\n".join([header, *rows]) if rows else "No setups yet.",
             [s.__dict__ | {"path": str(s.path)} for s in setups])
        return OK
    store, state = _load_state(args.state)
    drift, code = None, OK
    if not args.offline:
        drift, code = _drift(args, state)
    from .setup_progress import progress_text  # counted as the setups list counts them
    lines = [f"{state.name}: {progress_text(state)} steps (state {store.path}, serial {state.serial})"]
    for step_id, record in state.steps.items():
        lines.append(f"  {step_id:16} {record.status:8} {_action_words(record.status, record.action):12} "
                     f"{record.reason}")
        if record.error:
            lines.append(f"  {'':16} error: {record.error.get('code')}: {record.error.get('message')}; fix: "
                         f"{record.error.get('fix')}")
        for item in drift.for_step(step_id) if drift is not None else []:
            lines.append(f"  {'':16} DRIFT {item.what}: {item.detail}" + (f"\n  {'':16}   fix: {item.fix}"
                                                                          if item.fix else ""))
    if drift is None:
        lines.append("Drift: not checked (--offline: the state file only)." if args.offline else "")
    elif drift.error:
        lines.append(f"Drift: could not read Azure: {drift.error} (--offline shows the state file only).")
    elif not drift.checked:
        lines.append("Drift: nothing made yet to compare with Azure.")
    else:
        lines.append(f"Drift: {drift.summary()}; resume the setup (apply its spec) to repair it." if drift.drifted
                     else "Drift: none; everything the state records still holds in Azure.")
    emit(args, "\n".join(line for line in lines if line),
         state.to_dict() | ({"drift": drift.to_dict()} if drift is not None else {}))
    return code


def _drift(args: Any, state: State) -> tuple[Any, int]:
    """(Drift or None, exit code): read on the connection the options name; a setup made in the UI on the
    sandbox is not looked for in Azure (and the other way round)."""
    from .drift import Drift, applied, setup_drift
    if not applied(state):
        return Drift(), OK
    made_on = str(state.ui.get("cloud", ""))
    on_sandbox = bool(args.sandbox or args.sandbox_descriptor)
    if made_on and (made_on == "sandbox") != on_sandbox:
        where = "the sandbox: add --sandbox" if made_on == "sandbox" else f"Azure ({made_on}): drop --sandbox"
        return Drift(error=f"NotChecked: this setup was made on {where} to read its drift."), OK
    session = _session(args)
    if session is None:
        return Drift(error="NoSignIn: cannot connect (see above)."), NO_SIGN_IN
    try:
        drift = setup_drift(session, state)
    finally:
        session.close()
    failed = drift.error.split(":", 1)[0] in ("AuthenticationFailed", "NotSignedIn", "NetworkError")
    return drift, NO_SIGN_IN if failed else (STOPPED if drift.error else OK)


@_guarded
@_with_session
def cmd_verify(args: Any, session: Any) -> int:
    from .workspace import verify_state
    _, state = _load_state(args.state)
    report = verify_state(session, state, sink=_json_event if args.json else _print_event,
                          probe=not args.no_probe)
    broken = report.broken
    from .verify_summary import passed_summary
    emit(args, passed_summary(report.to_dict(), uses_vault=bool(state.spec.get("vault", {}).get("name")))
         if report.passed else f"Broken link: {broken.name if broken else '-'}", report.to_dict())
    return OK if report.passed else VERIFY_FAILED


@_guarded
@_with_session
def cmd_doctor(args: Any, session: Any) -> int:
    from .doctor_args import DoctorArgError, doctor_target
    from .workspace import doctor
    try:
        target = doctor_target(args)
    except DoctorArgError as err:
        emit(args, f"mi-wizard: {err}", {"error": {"code": "BadDoctorArgument", "message": str(err)}})
        return BAD_INPUT
    report = doctor(session, target, sink=_json_event if args.json else _print_event, probe=not args.no_probe)
    broken = report.broken
    emit(args, "Healthy: every link holds." if report.passed or broken is None else
         f"Broken link: {broken.name}: {broken.detail}", report.to_dict())
    return OK if report.passed else VERIFY_FAILED


def cmd_roles(args: Any) -> int:
    from .azure import roles
    rows = [{"role": r.name, "allows": r.allows, "for": [t.rsplit("/", 1)[-1] for t in r.fits] or ["any scope"],
             "warning": r.warning} for r in roles.CURATED]
    emit(args, "\n".join(f"{r['role']:30} {r['allows']}" + (f"\n{'':30} ! {r['warning']}" if r["warning"] else "")
                         for r in rows), rows)
    return OK
