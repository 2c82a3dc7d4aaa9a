"""Running the containers of the sandbox's container groups.

A container whose command is exactly the probe (`["python3", "-c", <wizard/probe.py's text>, ...args]`) runs
that script as a real subprocess, with an IMDS endpoint that serves only the group's identities; its output
becomes the container log and its exit code the instance view. Nothing else is ever executed: other
containers just report Running and log one line. Secure environment values are kept in memory only (never
in the store, never in a log).
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .arm import get, now_iso, put

if TYPE_CHECKING:
    from .app import Sandbox

LOG = "container_log"
PROBE_TIMEOUT_S = 60.0
KILLED_EXIT_CODE = 137  # what a SIGKILLed container reports


@dataclass
class _Run:
    group_id: str
    """The owner whose processes are stopped together: a container group's id, or a Batch task's key."""
    container: str
    generation: int
    imds_base: str
    cancelled: bool = False
    proc: subprocess.Popen | None = None
    thread: threading.Thread | None = None
    on_exit: Callable[[_Run, int, str, str], None] | None = None
    """Who records the result (code, stdout, stderr) instead of a container's instance view (see run_probe)."""


@dataclass
class _Runtime:
    lock: threading.Lock = field(default_factory=threading.Lock)
    runs: list[_Run] = field(default_factory=list)
    secure_env: dict[str, dict[str, dict[str, str]]] = field(default_factory=dict)
    """group id (lower) -> container name -> {variable: secure value}; memory only."""


_runtimes: weakref.WeakKeyDictionary[Any, _Runtime] = weakref.WeakKeyDictionary()
_runtimes_lock = threading.Lock()


def _runtime(sb: Sandbox) -> _Runtime:
    with _runtimes_lock:
        rt = _runtimes.get(sb)
        if rt is None:
            rt = _runtimes[sb] = _Runtime()
        return rt


def probe_source() -> str:
    from ..probe import probe_source as source
    return source()


def is_probe(command: Any) -> bool:
    """True only for the probe's exact text: the sandbox never runs any other code."""
    return (isinstance(command, list) and len(command) >= 3 and command[0] == "python3" and command[1] == "-c"
            and command[2] == probe_source() and all(isinstance(a, str) for a in command[3:]))


def keep_secure_env(sb: Sandbox, group_id: str, values: dict[str, dict[str, str]]) -> None:
    _runtime(sb).secure_env[group_id.lower()] = values


def event(name: str, message: str, kind: str = "Normal") -> dict[str, Any]:
    at = now_iso()
    return {"count": 1, "firstTimestamp": at, "lastTimestamp": at, "name": name, "message": message, "type": kind}


# ---- logs -------------------------------------------------------------------------------------------------
def _log_key(group_id: str, container: str) -> str:
    return f"{group_id}/containers/{container}"


def append_log(sb: Sandbox, group_id: str, container: str, text: str) -> None:
    record = sb.store.get(LOG, _log_key(group_id, container)) or {"lines": []}
    at = now_iso()
    record["lines"] += [[at, line] for line in text.splitlines()]
    sb.store.put(LOG, _log_key(group_id, container), record)


def read_log(sb: Sandbox, group_id: str, container: str) -> list[list[str]]:
    record = sb.store.get(LOG, _log_key(group_id, container))
    return record["lines"] if record else []


def clear_logs(sb: Sandbox, group: dict[str, Any]) -> None:
    for c in group["properties"]["containers"]:
        sb.store.delete(LOG, _log_key(group["id"], c["name"]))


# ---- instance views ---------------------------------------------------------------------------------------
def group_state(group: dict[str, Any]) -> str:
    """The group's instanceView.state from its containers' states."""
    views = [c["properties"].get("instanceView") or {} for c in group["properties"]["containers"]]
    states = [v.get("currentState") or {} for v in views]
    if states and all(s.get("state") == "Terminated" for s in states):
        return "Succeeded" if all(s.get("exitCode") == 0 for s in states) else "Failed"
    if any(s.get("startTime") for s in states) or any(v.get("previousState") for v in views):
        return "Running"  # started once; a container in back-off keeps the group Running, as in Azure
    return "Pending"


def is_terminated(group: dict[str, Any]) -> bool:
    """Stopped, or every container has exited for good: Azure deploys such a group only as new."""
    if group["properties"].get("instanceView", {}).get("state") == "Stopped":
        return True
    states = [(c["properties"].get("instanceView") or {}).get("currentState") or {}
              for c in group["properties"]["containers"]]
    return bool(states) and all(s.get("state") == "Terminated" for s in states)


def start_group(sb: Sandbox, group: dict[str, Any], restart: bool = False) -> None:
    """Start (or restart) every container of `group` (mutated in place; the caller stores it)."""
    stop_group(sb, group["id"])
    meta = group.setdefault("_sandbox", {})
    meta["generation"] = meta.get("generation", 0) + 1
    secure = _runtime(sb).secure_env.get(group["id"].lower(), {})
    for container in group["properties"]["containers"]:
        props = container["properties"]
        old = props.get("instanceView") or {}
        view = {"restartCount": old.get("restartCount", 0) + (1 if restart and old else 0),
                "currentState": {"state": "Running", "startTime": now_iso(), "detailStatus": ""},
                "events": [event("Pulling", f'pulling image "{props["image"]}"'),
                           event("Pulled", f'Successfully pulled image "{props["image"]}"'),
                           event("Started", "Started container")]}
        if old.get("currentState"):
            view["previousState"] = dict(old["currentState"], state="Terminated", finishTime=now_iso(),
                                         detailStatus=old["currentState"].get("detailStatus") or "Killed")
        props["instanceView"] = view
        if is_probe(props.get("command")):
            _spawn(sb, group, container, secure.get(container["name"], {}))
        else:
            append_log(sb, group["id"], container["name"], f"{props['image']} started")
    group["properties"]["instanceView"] = {"events": [], "state": group_state(group)}


def mark_stopped(group: dict[str, Any]) -> None:
    for container in group["properties"]["containers"]:
        view = container["properties"].get("instanceView")
        if view and view.get("currentState", {}).get("state") == "Running":
            view["currentState"] = dict(view["currentState"], state="Terminated", exitCode=KILLED_EXIT_CODE,
                                        finishTime=now_iso(), detailStatus="Killed")
    group["properties"]["instanceView"] = {"events": [], "state": "Stopped"}


# ---- probe processes ---------------------------------------------------------------------------------------
def _identity_ids(group: dict[str, Any]) -> list[str]:
    identity = group.get("identity") or {}
    ids = list((identity.get("userAssignedIdentities") or {}).keys())
    system = group.get("_sandbox", {}).get("systemIdentityId")
    return ([system] if system else []) + ids


def _spawn(sb: Sandbox, group: dict[str, Any], container: dict[str, Any], secure: dict[str, str]) -> None:
    from .providers.imds import register_caller
    props = container["properties"]
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    for var in props.get("environmentVariables") or []:
        if var["name"] in secure:
            env[var["name"]] = secure[var["name"]]
        elif var.get("value") is not None:
            env[var["name"]] = var["value"]
    base = register_caller(sb, f"{group['id']}/containers/{container['name']}", _identity_ids(group))
    env["AZURE_POD_IDENTITY_AUTHORITY_HOST"] = base
    env["SSL_CERT_FILE"] = str(sb.ca_path)  # so the stdlib trusts the sandbox's CA, as a real image trusts Azure's
    run = _Run(group["id"], container["name"], group["_sandbox"]["generation"], base)
    _start(sb, run, props["command"][3:], env, f"aci-{group['name']}-{container['name']}")


def run_probe(sb: Sandbox, owner_id: str, args: list[str], env: dict[str, str],
              on_exit: Callable[[_Run, int, str, str], None], name: str) -> None:
    """Run the probe with `args` and `env` as a subprocess for another workload (a Batch task).

    `on_exit(run, exit_code, stdout, stderr)` records the result; it is not called for a run stopped by
    `stop_group(sb, owner_id)` or `stop_all`, and must check `run.cancelled` under the store lock. The IMDS
    caller in env belongs to the workload (a Batch node keeps its own), so the run never unregisters it.
    """
    _start(sb, _Run(owner_id, "", 0, "", on_exit=on_exit), args, env, name)


def _start(sb: Sandbox, run: _Run, args: list[str], env: dict[str, str], name: str) -> None:
    argv = [sys.executable, "-c", probe_source(), *args]
    run.thread = threading.Thread(target=_run_probe, args=(sb, run, argv, env), daemon=True, name=name)
    rt = _runtime(sb)
    with rt.lock:
        rt.runs.append(run)
    run.thread.start()


def _run_probe(sb: Sandbox, run: _Run, argv: list[str], env: dict[str, str]) -> None:
    from .providers.imds import unregister_caller
    output, code = "", KILLED_EXIT_CODE
    try:
        with _runtime(sb).lock:
            if run.cancelled:
                return
            # A container log interleaves both streams; a Batch task keeps stdout.txt and stderr.txt apart.
            run.proc = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                        stderr=subprocess.PIPE if run.on_exit else subprocess.STDOUT, cwd="/")
        try:
            out, err = run.proc.communicate(timeout=PROBE_TIMEOUT_S)
            code = run.proc.returncode
        except subprocess.TimeoutExpired:
            run.proc.kill()
            out, err = run.proc.communicate()
            out += b"\ncontainer killed: exceeded the sandbox's time limit\n"
        output = out.decode("utf-8", "replace")
        if run.on_exit is not None:
            run.on_exit(run, code, output, (err or b"").decode("utf-8", "replace"))
        else:
            _finish(sb, run, code, output)
    finally:
        if not run.cancelled and run.imds_base:
            unregister_caller(sb, run.imds_base)
        with _runtime(sb).lock:
            if run in _runtime(sb).runs:
                _runtime(sb).runs.remove(run)


def _finish(sb: Sandbox, run: _Run, code: int, output: str) -> None:
    with sb.store.transaction():
        # Checked inside the store lock: whoever cancels holds it too, so a cancelled run never writes.
        if run.cancelled:
            return
        group = get(sb, run.group_id)
        if group is None or group.get("_sandbox", {}).get("generation") != run.generation:
            return
        append_log(sb, group["id"], run.container, output)
        container = next(c for c in group["properties"]["containers"] if c["name"] == run.container)
        view = container["properties"]["instanceView"]
        ended = dict(view["currentState"], state="Terminated", exitCode=code, finishTime=now_iso(),
                     detailStatus="Completed" if code == 0 else "Error")
        policy = group["properties"].get("restartPolicy", "Always")
        if policy == "Never" or (policy == "OnFailure" and code == 0):
            view["currentState"] = ended
            view["events"].append(event("Killing", "Container exited"))
        else:
            # Azure would run it again with back-off; the sandbox reports the back-off and does not re-run.
            view["previousState"] = ended
            view["restartCount"] = view.get("restartCount", 0) + 1
            view["currentState"] = {"state": "Waiting", "detailStatus": "CrashLoopBackOff: Back-off restarting failed"}
            view["events"].append(event("BackOff", "Back-off restarting failed container", "Warning"))
        group["properties"]["instanceView"]["state"] = group_state(group)
        put(sb, group)


def stop_group(sb: Sandbox, group_id: str) -> None:
    """Kill the group's running processes (called with the store lock held; never waits for them)."""
    from .providers.imds import unregister_caller
    rt = _runtime(sb)
    with rt.lock:
        mine = [r for r in rt.runs if r.group_id.lower() == group_id.lower()]
        for run in mine:
            run.cancelled = True
            if run.proc is not None and run.proc.poll() is None:
                run.proc.kill()
    for run in mine:
        if run.imds_base:
            unregister_caller(sb, run.imds_base)


def forget_group(sb: Sandbox, group_id: str) -> None:
    stop_group(sb, group_id)
    _runtime(sb).secure_env.pop(group_id.lower(), None)


def stop_all(sandbox: Sandbox) -> None:
    """Stop every running container process of this sandbox (Sandbox.stop, before the store closes)."""
    rt = _runtime(sandbox)
    with rt.lock:
        runs = list(rt.runs)
    if runs and sandbox.store is not None:
        with sandbox.store.transaction():
            container_groups = {r.group_id for r in runs if r.on_exit is None}  # the others are Batch tasks
            for group_id in {r.group_id for r in runs}:
                stop_group(sandbox, group_id)
                group = get(sandbox, group_id) if group_id in container_groups else None
                if group is not None:  # the host went away: its processes are gone, as the state now says
                    mark_stopped(group)
                    group["properties"]["instanceView"]["state"] = group_state(group)
                    put(sandbox, group)
    for run in runs:
        if run.thread is not None:
            run.thread.join(timeout=5)
    rt.secure_env.clear()
