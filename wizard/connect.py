"""From a headless command's options to a signed-in session: which cloud (the setup's own; --cloud must agree),
the sandbox or Azure (a setup made on the sandbox is not looked for in Azure), how to sign in (--auth, --tenant),
and which subscription (--subscription, the spec's, AZURE_SUBSCRIPTION_ID), each said on stderr when it is not
the obvious one.
"""

from __future__ import annotations

import json
import os
import sys
import uuid
from typing import TYPE_CHECKING, Any

from .session import ConnectionConflict, SessionError, SignInFailed

if TYPE_CHECKING:
    from .session import Session
    from .spec import Spec

_SANDBOX_NS = uuid.UUID("6f1c1c9e-9a57-4a40-9c1e-6d1d7c0a5e11")
"""wizard.sandbox.app.stable_id's namespace (importing it would load the whole sandbox; a unit test keeps the two
equal): every sandbox seeds the same subscription ids, so a setup that names one was made on a sandbox."""
SANDBOX_SUBSCRIPTIONS = {str(uuid.uuid5(_SANDBOX_NS, f"sub:{n}")): name
                         for n, name in (("dev", "Contoso Dev"), ("prod", "Contoso Prod"))}


def say(args: Any, text: str, event: str = "SignIn", **fields: str) -> None:
    """One line on stderr: human words, or with --json one JSON event line (stdout keeps the result)."""
    from .progress import STDERR_LOCK
    line = json.dumps({"event": event, "text": text, **fields}) if getattr(args, "json", False) else text
    with STDERR_LOCK:
        sys.stderr.write(line + "\n")
        sys.stderr.flush()


def open_for(args: Any, *, prove: bool = True) -> Session | None:
    """The session a command asked for, signed in. A contradiction between the options and the setup raises
    ConnectionConflict (exit 2); a sign-in that fails is said (cause and fix) and gives None (exit 7)."""
    from .azure.signin import quiet_identity_logs
    from .session import open_session
    if not getattr(args, "debug", False):
        quiet_identity_logs()
    on_sandbox = bool(getattr(args, "sandbox", False) or getattr(args, "sandbox_descriptor", None))
    setup_cloud, where, made_on_sandbox, subscription = setup_facts(args)
    if made_on_sandbox and not on_sandbox:
        raise ConnectionConflict(f"This setup was made on the sandbox ({made_on_sandbox}); it is not in Azure. Add "
                                 "--sandbox to the same command.")
    cloud = _cloud(getattr(args, "cloud", None), setup_cloud, where)
    try:
        session = open_session(cloud=cloud, sandbox=bool(getattr(args, "sandbox", False)),
                               sandbox_descriptor=getattr(args, "sandbox_descriptor", None),
                               sandbox_reset=bool(getattr(args, "sandbox_reset", False)),
                               auth=getattr(args, "auth", None), tenant=getattr(args, "tenant", None),
                               prompt=lambda url, code, expires=None: say(
                                   args, f"To sign in, open {url} and enter the code {code} (Ctrl-C to stop).",
                                   "DeviceCode", url=url, code=code))
    except ConnectionConflict:
        raise
    except SessionError as err:
        _failed(args, {"code": type(err).__name__, "explanation": str(err), "fix": ""}, f"mi-wizard: {err}")
        return None
    session.place = "the sandbox" if session.profile.is_sandbox else f"{session.profile.name} ({where or 'default'})"
    if not on_sandbox and subscription.lower() in (n.lower() for n in SANDBOX_SUBSCRIPTIONS.values()):
        session.failure_hint = (f"(The spec's subscription {subscription!r} is one of the sandbox's demo "
                                "subscriptions: to use the sandbox, add --sandbox.)")
    if not prove:
        return session
    try:
        prove_signin(args, session)
    except SignInFailed as err:
        report_failure(args, err)
        session.close()
        return None
    return session


def prove_signin(args: Any, session: Session) -> None:
    """Sign in now and say as whom (SignInFailed names the cause and the fix). plan and apply call it once their
    input is checked, so bad input is refused before anything is asked of Azure."""
    from .azure.signin import az_cloud_note, describe_kind
    attempt = session.attempt
    kind = attempt.kind if attempt is not None else "default"
    if kind == "cli":
        note = az_cloud_note(session.profile.az_cloud_name)
        if note:
            say(args, note)
    try:
        who = session.prove()
    except SignInFailed as err:
        err.hint = session.failure_hint
        raise
    if kind != "client_secret":  # the sandbox's own operator is the one obvious way: nothing to say
        say(args, f"Signed in to {session.place} with {describe_kind(kind)} ({session.auth_reason}) as "
                  f"{who.display or who.object_id} ({who.principal_type}), tenant {who.tenant_id}.")


def report_failure(args: Any, err: SignInFailed) -> None:
    hint = f"\n  {err.hint}" if err.hint else ""
    _failed(args, err.problem.to_dict(), f"mi-wizard: {err.problem}{hint}")


def _failed(args: Any, data: dict[str, str], human: str) -> None:
    if getattr(args, "json", False):
        print(json.dumps({"error": data}, indent=2))
    else:
        print(human, file=sys.stderr)


def _cloud(option: str | None, setup_cloud: str | None, where: str) -> str:
    """The cloud to sign in to: the setup's, which --cloud may repeat but not contradict."""
    from .azure.clouds import cloud_problem
    if setup_cloud is not None:
        problem = cloud_problem(setup_cloud)
        if problem:
            from .spec import SpecError
            raise SpecError(f"{where}: cloud: {problem}")
        if option and option != setup_cloud:
            raise ConnectionConflict(
                f"--cloud {option} contradicts the setup's cloud \"{setup_cloud}\" ({where}): its resources live in "
                f"one cloud. Drop --cloud (the setup's cloud is used), or change `cloud` in the spec if the setup "
                f"is meant for {option}.")
        return setup_cloud
    return option or "public"


def setup_facts(args: Any) -> tuple[str | None, str, str, str]:
    """(the setup's cloud or None, where it was read, why it was made on the sandbox or "", its subscription),
    from the spec or saved plan (plan, apply) or the state (verify, status, destroy). Reading errors are the
    command's own (exit 2)."""
    command = getattr(args, "command", "")
    spec: dict[str, Any] | None = None
    state: Any = None
    where = ""
    if command in ("plan", "apply"):
        from .saved_plan import is_plan_file, load_plan
        from .spec import load_spec
        spec = load_plan(args.spec).spec if is_plan_file(args.spec) else load_spec(args.spec).to_dict()
        where = f"spec {args.spec}"
        state = _existing_state(args, str(spec.get("name", "")))
    elif command in ("verify", "status", "destroy") and getattr(args, "state", None):
        from .commands import _load_state
        _, state = _load_state(args.state)
        spec, where = state.spec, f"setup {state.name}"
    if spec is None:
        return None, "", "", ""
    made_on = _made_on_sandbox(spec, state)
    cloud = spec.get("cloud")
    return (str(cloud) if cloud else "public"), where, made_on, str(spec.get("subscription") or "")


def _existing_state(args: Any, name: str) -> Any:
    """The state a plan/apply would resume, if there is one that can be read (its problems are said later)."""
    from .state import StateError
    from .state import validate_setup_name as name_problem
    from .state_store import StateStore
    try:
        store = StateStore(args.state) if getattr(args, "state", None) else (
            None if name_problem(name) else StateStore.for_setup(name))
        return store.load() if store is not None and store.path.exists() else None
    except (StateError, OSError, ValueError):
        return None


def _made_on_sandbox(spec: dict[str, Any], state: Any) -> str:
    """Why the setup was made on the sandbox ("" when nothing says so)."""
    if state is not None and state.ui.get("cloud") == "sandbox":
        return "its state records it"
    subscription = str(spec.get("subscription", "")).lower()
    if subscription in SANDBOX_SUBSCRIPTIONS:
        return f"its subscription {subscription} is the sandbox's {SANDBOX_SUBSCRIPTIONS[subscription]}"
    if state is not None:
        text = json.dumps({k: r.outputs for k, r in state.steps.items()}).lower()
        for sub_id, name in SANDBOX_SUBSCRIPTIONS.items():
            if f"/subscriptions/{sub_id}" in text:
                return f"its resources are in the sandbox's subscription {name} ({sub_id})"
    return ""


def chosen_subscription(args: Any, spec: Spec) -> Spec:
    """The spec with the subscription the command runs in: --subscription, else the spec's, else
    AZURE_SUBSCRIPTION_ID; said on stderr when it is not simply the spec's."""
    from dataclasses import replace
    option = getattr(args, "subscription", None)
    env = os.environ.get("AZURE_SUBSCRIPTION_ID", "").strip()
    if getattr(args, "saved_plan", None) is not None and option and option != spec.subscription:
        from .spec import SpecError
        raise SpecError(f"--subscription {option} differs from the saved plan's subscription {spec.subscription!r}: "
                        "a saved plan is carried out exactly. Make a new plan with --subscription.")
    if option:
        say(args, f"Subscription: {option} (from --subscription; the spec says {spec.subscription!r})."
            if spec.subscription and spec.subscription != option else f"Subscription: {option} (from --subscription).")
        return replace(spec, subscription=option)
    if spec.subscription:
        if env and env.lower() != spec.subscription.lower():
            say(args, f"Subscription: {spec.subscription} (from the spec; AZURE_SUBSCRIPTION_ID={env} is not used: "
                      "--subscription chooses another).")
        return spec
    if env:
        say(args, f"Subscription: {env} (from AZURE_SUBSCRIPTION_ID; the spec names none).")
        return replace(spec, subscription=env)
    return spec
