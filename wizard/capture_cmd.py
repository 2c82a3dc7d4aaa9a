"""`mi-wizard capture`: write a spec that rebuilds a setup made elsewhere, its broken links included."""

from __future__ import annotations

from typing import Any

from .cli import BAD_INPUT, NO_SIGN_IN, OK, emit


def cmd_capture(args: Any) -> int:
    from .commands import _guarded
    code: int = _guarded(_capture)(args)
    return code


def _capture(args: Any) -> int:
    from .capture import CaptureError, capture, one_target_problem
    from .commands import _session
    from .doctor_args import DoctorArgError, doctor_target
    from .spec import save_spec
    from .spec_values import setup_name_problem
    try:
        target = doctor_target(args)
    except DoctorArgError as err:
        emit(args, f"mi-wizard: {err}", {"error": {"code": "BadCaptureArgument", "message": str(err)}})
        return BAD_INPUT
    message = one_target_problem(target)
    if message:
        emit(args, f"mi-wizard: {message}", {"error": {"code": "OneTargetAtATime", "message": message}})
        return BAD_INPUT
    name = args.out.stem
    if setup_name_problem(name):
        name = f"captured-{target.identity_id.rstrip('/').rsplit('/', 1)[-1]}"[:64]
    if not args.out.parent.is_dir():
        emit(args, f"mi-wizard: no directory {args.out.parent} for --out.", {"error": {"code": "BadOut"}})
        return BAD_INPUT
    session = _session(args)
    if session is None:
        return NO_SIGN_IN
    try:
        from .azure.scopes import subscription_of
        from .verify import Checker
        clients = session.for_subscription(subscription_of(target.identity_id))
        report = Checker(clients, target).run(probe=False)  # read-only: no probe in the original's subscription
        try:
            captured = capture(clients, target, report, name=name)
        except CaptureError as err:
            emit(args, f"mi-wizard: {err}", {"error": {"code": "NothingToCapture", "message": str(err)}})
            return BAD_INPUT
    finally:
        session.close()
    save_spec(captured.spec, args.out)
    lines = [f"Wrote {args.out}: setup {captured.spec.name} ({captured.spec.target.kind} target, "
             f"{captured.spec.vault.access_model if captured.spec.uses_vault else 'no'} vault)."]
    lines += ["Names mapped (they must not meet the original's):"] + [
        f"  {old} -> {new}" for old, new in captured.names.items()]
    if captured.findings:
        lines.append("Doctor's findings on the original (rebuilt broken by `apply --sandbox`):" if
                     captured.spec.reproduce.any() else "Doctor's findings on the original:")
        lines += [f"  - {f['link']}: {f['detail']}" for f in captured.findings]
    else:
        lines.append("Doctor found every link holding (without the live probe).")
    lines += [f"  not rebuilt: {n}" for n in captured.not_reproduced]
    lines += [f"  note: {n}" for n in captured.notes]
    lines.append(f"Replay it: mi-wizard apply {args.out} --sandbox --yes"
                 + (" --secret-from env:NAME" if captured.spec.uses_vault else ""))
    emit(args, "\n".join(lines), {"spec": str(args.out), "setup": captured.spec.name, **captured.to_dict()})
    return OK
