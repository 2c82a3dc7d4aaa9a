"""`mi-wizard destroy SETUP [--plan] [--purge] [--yes] [--json]`: remove what a setup created, revert what it
changed on what it adopted, and keep everything else (wizard/teardown.py)."""

from __future__ import annotations

from typing import Any

from .cli import BAD_INPUT, OK, STEP_FAILED, STOPPED, emit
from .commands import _guarded, _has_terminal, _load_state, _print_event, _with_session


@_guarded
@_with_session
def cmd_destroy(args: Any, session: Any) -> int:
    from . import teardown
    from .progress import Cancelled
    store, state = _load_state(args.state)
    clients = teardown.clients_for(session, state)
    with store.lock():  # read, confirm and write under one lock: nobody changes the setup meanwhile
        state = store.load()
        plan = teardown.plan(clients, state, purge=args.purge)
        if not args.json:
            print(plan.describe())
        if args.plan:
            emit(args, "", plan.to_dict())
            return OK
        if not plan.writes:
            if state.teardown.get("status") == "running" or state.provenance:
                teardown.run(clients, store, state, plan)  # finish the record: nothing is left to remove
            emit(args, "Nothing to remove.", {"destroyed": True, **plan.to_dict()})
            return OK
        if not args.yes:
            if not _has_terminal():
                emit(args, "Not destroyed: pass --yes to destroy without a prompt" + (
                    " (it also confirms what changed outside this setup, listed above)." if plan.foreign else "."),
                     {"error": {"code": "NeedsYes", "foreign": plan.foreign}})
                return BAD_INPUT
            answer = input(f"Type the setup's name ({state.name}) to destroy it: ").strip()
            if answer != state.name:
                print("Nothing was changed.")
                return OK
        try:
            final = teardown.run(clients, store, state, plan, sink=(lambda e: None) if args.json else _print_event)
        except teardown.TeardownFailed as err:
            emit(args, f"Destroy stopped at {err.key}: {err.code}: {err.explanation}\n  fix: {err.fix}\n"
                       "What is done is recorded; run destroy again to resume.",
                 {"error": {"key": err.key, "code": err.code, "explanation": err.explanation, "fix": err.fix}})
            return STEP_FAILED
        except Cancelled as err:
            emit(args, f"Stopped: {err}. Run destroy again to resume.", {"error": {"code": "Stopped"}})
            return STOPPED
    kept = [f"  {a['title']}: {a['reason']}" for a in final.teardown.get("kept", [])]
    emit(args, f"Destroyed {state.name}." + ("\nKept:\n" + "\n".join(kept) if kept else ""),
         {"destroyed": True, **plan.to_dict()})
    return OK


