"""Command line: argument parsing and the composition root. The UI is imported only when it is needed.

Exit codes:
  0  done (plan: nothing to change or changes listed; apply/verify/doctor: passed)
  2  bad input: spec, arguments, secret source, state file or a stale saved plan (nothing changed);
     plan --detailed-exitcode: changes pending
  3  the plan found problems (nothing changed)
  4  an Azure step failed (the state records where; fix and run apply again to resume)
  5  verification failed (a link of the chain is broken; see its fix)
  6  stopped, still waiting, or could not check now (a transient failure; resume later with the same command)
  7  cannot sign in or reach the cloud
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import argparse

OK, BAD_INPUT, PLAN_PROBLEMS, STEP_FAILED, VERIFY_FAILED, STOPPED, NO_SIGN_IN = 0, 2, 3, 4, 5, 6, 7
CHANGES_PENDING = 2
"""`plan --detailed-exitcode` only, as Terraform's: 0 nothing to change, 2 changes pending."""
COMMAND_MODULES = {"destroy": "teardown_cmd", "capture": "capture_cmd", "export": "export_cmd", "init": "init_cmd",
                   "completion": "init_cmd"}
"""Commands whose `cmd_<name>(args) -> int` lives outside wizard/commands.py."""
_UI_FLAGS = {"--sandbox", "--sandbox-reset"}
"""The top-level options: with only these (or none), the command is the wizard's UI."""


def _connection_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("where to connect")
    group.add_argument("--sandbox", action="store_true", help="use the embedded local sandbox (persistent)")
    group.add_argument("--sandbox-reset", action="store_true", help="with --sandbox: start it afresh")
    group.add_argument("--sandbox-descriptor", metavar="FILE", help="use a running `mi-wizard sandbox serve`")
    group.add_argument("--cloud", default=None, choices=("public", "china", "usgov"),
                       help="Azure cloud (default: the spec's or the setup's `cloud`, else public; a different "
                            "value is refused)")
    group.add_argument("--auth", choices=("cli", "env", "device", "msi", "default"), default=None,
                       help="how to sign in: cli (az login), env (AZURE_CLIENT_ID/AZURE_TENANT_ID/"
                            "AZURE_CLIENT_SECRET), device (a code to enter in a browser), msi (this machine's "
                            "managed identity), default (the DefaultAzureCredential chain). Default: cli when az is "
                            "signed in, else the chain")
    group.add_argument("--tenant", default=None, metavar="TENANT_ID",
                       help="the Entra tenant to sign in to (default: the sign-in's own)")
    group.add_argument("--json", action="store_true",
                       help="machine-readable output: the result on stdout, progress events as JSON lines on stderr")
    group.add_argument("--debug", action="store_true",
                       help="log each HTTP call (method, URL, status, time) on stderr; never a body or a header")


def _subscription_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--subscription", default=None, metavar="NAME_OR_ID",
                        help="the subscription (name or id) instead of the spec's; without it and without one in "
                             "the spec, AZURE_SUBSCRIPTION_ID")


def build_parser() -> argparse.ArgumentParser:
    import argparse
    parser = argparse.ArgumentParser(
        prog="mi-wizard", formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Give an Azure workload a least-privilege managed identity that reads a Key Vault secret, "
                    "and prove it works.", epilog=__doc__.split("\n", 2)[2])
    from . import __version__
    parser.add_argument("--version", action="version", version=f"mi-wizard {__version__}",
                        help="print the version and exit")
    parser.add_argument("--sandbox", action="store_true", help="open the wizard on the embedded sandbox")
    parser.add_argument("--sandbox-reset", action="store_true", help="with --sandbox: start it afresh")
    sub = parser.add_subparsers(dest="command")
    plan = sub.add_parser("plan", help="show what apply would do (reads only)")
    plan.add_argument("spec", type=Path, help="the setup's spec (TOML)")
    plan.add_argument("--state", type=Path, help="the state file (default: the setup's own, by name)")
    plan.add_argument("--out", type=Path, metavar="PLAN",
                      help="save the plan: `mi-wizard apply PLAN` carries out exactly it, or refuses a stale one")
    plan.add_argument("--detailed-exitcode", action="store_true",
                      help="exit 0 when nothing would change, 2 when changes are pending (3: problems)")
    plan.add_argument("--secret-from", default=None, help="env:NAME, file:PATH or stdin (never the value)")
    _subscription_option(plan)
    _connection_options(plan)
    apply = sub.add_parser("apply", help="carry out a spec or a saved plan (resumes a half-finished setup)")
    apply.add_argument("spec", type=Path, help="a spec (TOML), or a plan saved by `plan --out`")
    apply.add_argument("--state", type=Path, help="the state file (default: the setup's own, by name)")
    apply.add_argument("--yes", action="store_true", help="apply without asking")
    apply.add_argument("--secret-from", default=None, help="env:NAME, file:PATH, stdin or prompt (never the value)")
    apply.add_argument("--no-verify", action="store_true", help="skip the verification after apply")
    _subscription_option(apply)
    _connection_options(apply)
    status = sub.add_parser("status", help="show a setup's progress and, from Azure, what no longer holds (drift)")
    status.add_argument("state", nargs="?", help="a state file or setup name (default: list all setups)")
    status.add_argument("--offline", action="store_true", help="the state file only: do not read Azure")
    _connection_options(status)
    verify = sub.add_parser("verify", help="check every link of a setup, with a live probe")
    verify.add_argument("state", help="a state file or setup name")
    verify.add_argument("--no-probe", action="store_true", help="check the links without the live probe")
    _connection_options(verify)
    doctor = sub.add_parser("doctor", help="check a setup mi-wizard did not make")
    doctor.add_argument("--identity", required=True, help="the identity's resource id")
    doctor.add_argument("--vault", default="", help="the vault name (with --secret)")
    doctor.add_argument("--secret", default="", help="the secret name the workload reads")
    doctor.add_argument("--container-group", default="", help="the container group's resource id")
    doctor.add_argument("--pool", default="", help="a Batch pool's resource id (the probe runs a task on it)")
    doctor.add_argument("--federation", action="append", default=[], metavar="SPEC",
                        help="a federated credential to check (repeatable): aks:CLUSTER_ID:NAMESPACE:SERVICE_ACCOUNT "
                             "or github:ORG/REPO:branch:NAME|environment:NAME|tag:NAME|pull_request")
    doctor.add_argument("--grant", action="append", default=[], metavar="ROLE@SCOPE",
                        help="a role the identity must hold on a resource (repeatable), e.g. AcrPull@/subscriptions/...")
    doctor.add_argument("--no-probe", action="store_true", help="check the links without the live probe")
    _connection_options(doctor)
    destroy = sub.add_parser("destroy", help="remove what a setup created and revert what it changed (wizard/teardown)")
    destroy.add_argument("state", help="a state file or setup name")
    destroy.add_argument("--plan", action="store_true", help="list what goes and what stays, with the reason; change nothing")
    destroy.add_argument("--purge", action="store_true",
                         help="also purge the soft-deleted vault it created (never under purge protection)")
    destroy.add_argument("--yes", action="store_true", help="destroy without asking")
    _connection_options(destroy)
    capture = sub.add_parser("capture", help="write a spec that rebuilds a setup made elsewhere, broken links included")
    capture.add_argument("--identity", required=True, help="the identity's resource id")
    capture.add_argument("--vault", default="", help="the vault name (with --secret)")
    capture.add_argument("--secret", default="", help="the secret name the workload reads")
    capture.add_argument("--container-group", default="", help="the container group's resource id")
    capture.add_argument("--pool", default="", help="a Batch pool's resource id")
    capture.add_argument("--federation", action="append", default=[], metavar="SPEC",
                         help="a federated credential (repeatable), as for doctor")
    capture.add_argument("--grant", action="append", default=[], metavar="ROLE@SCOPE",
                         help="a role the identity holds on a resource (repeatable), as for doctor")
    capture.add_argument("--out", type=Path, required=True, metavar="FILE", help="where to write the spec (TOML)")
    _connection_options(capture)
    export = sub.add_parser("export", help="write the setup as an az script, Bicep or Terraform (never the secret)")
    export.add_argument("source", help="a setup name, a state file or a spec (TOML)")
    export.add_argument("--format", required=True, choices=("az", "bicep", "terraform"), help="what to write")
    export.add_argument("--out", type=Path, metavar="DIR", help="the directory to write into (default: print)")
    roles = sub.add_parser("roles", help="list the least-privilege roles mi-wizard grants, with what each allows")
    roles.add_argument("--json", action="store_true", help="machine-readable output")
    init = sub.add_parser("init", help="write a spec to start from (one of the shipped examples)")
    init.add_argument("file", nargs="?", type=Path, help="where to write it (default: EXAMPLE.toml here)")
    init.add_argument("--example", default="prefect-aci", metavar="NAME",
                      help="which example (default prefect-aci; `mi-wizard init --list` names them)")
    init.add_argument("--list", action="store_true", help="list the examples and what each sets up")
    init.add_argument("--force", action="store_true", help="overwrite FILE if it exists")
    completion = sub.add_parser("completion", help="print a shell completion script (bash, zsh or tcsh)")
    completion.add_argument("shell", choices=("bash", "zsh", "tcsh"),
                            help="e.g. `mi-wizard completion bash > ~/.local/share/bash-completion/completions/"
                                 "mi-wizard`")
    sub.add_parser("sandbox", help="run the sandbox standalone: mi-wizard sandbox serve --help", add_help=False)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["sandbox"]:
        from .sandbox.serve import main as serve_main
        return serve_main(argv[1:])
    if set(argv) <= _UI_FLAGS:
        # The wizard itself (`mi-wizard`, `mi-wizard --sandbox`): straight to the first screen, without building
        # the parser of every subcommand. Anything else (--help, an abbreviation, a typo) goes through argparse.
        return _ui(sandbox="--sandbox" in argv, sandbox_reset="--sandbox-reset" in argv)
    args = build_parser().parse_args(argv)
    if args.command is None:
        return _ui(sandbox=args.sandbox, sandbox_reset=args.sandbox_reset)
    import importlib
    _stop_on_signals()
    if getattr(args, "debug", False):
        from .azure.http_debug import enable
        enable()
    # Each command's module: the lifecycle commands beyond plan/apply/verify live in modules of their own.
    module = importlib.import_module(f".{COMMAND_MODULES.get(args.command, 'commands')}", __package__)
    try:
        code: int = getattr(module, f"cmd_{args.command}")(args)
        return code
    except KeyboardInterrupt:
        print("\nStopped. The state is saved; run the same command again to resume.", file=sys.stderr)
        return STOPPED


EXIT_GRACE_S = 10.0
"""After a stop, how long the steps' threads get to notice it (they look twice a second) before the process
exits anyway: a thread stuck in a call that never returns must not keep a stopped command alive. Every state
write is atomic (a temp file, then a rename), so exiting in the middle of one leaves the last saved state."""


STOP_SIGNALS = ("SIGINT", "SIGTERM", "SIGHUP")
_stop_handled = [False]
"""The main thread has run the stop handler (set there, read by the watchdog: a plain flag, no lock)."""
_watchdog_started = [False]


def _start_stop_watchdog() -> None:
    """A thread, started before any signal can come, woken through the signal wakeup fd whenever a stop signal
    arrives, whichever thread the kernel gave it to.

    Python runs a handler on the main thread only, and only when that thread runs Python again. A process's signal
    may be given to any thread (a step's thread in an HTTP call, say); the main thread, asleep in a lock wait for
    the steps, then never wakes, so the stop never happens (CI caught a SIGHUP'd apply that never exited). The
    watchdog sends the signal on to the main thread until its handler has run, and it ends the process if the
    steps' threads have not stopped EXIT_GRACE_S after the signal. Nothing here runs inside a handler."""
    import os
    import signal
    import threading
    import time
    read_fd, write_fd = os.pipe()
    os.set_blocking(write_fd, False)
    signal.set_wakeup_fd(write_fd, warn_on_full_buffer=False)
    main_ident = threading.main_thread().ident

    def watch() -> None:
        stops = {int(getattr(signal, name)) for name in STOP_SIGNALS if hasattr(signal, name)}
        signum = 0
        while signum not in stops:  # the C-level handler writes each handled signal's number, from any thread
            signum = os.read(read_fd, 1)[0]
        deadline = time.monotonic() + EXIT_GRACE_S
        while not _stop_handled[0] and time.monotonic() < deadline:
            if main_ident is not None:
                signal.pthread_kill(main_ident, signum)  # wakes a main thread asleep in a lock wait
            time.sleep(0.2)
        time.sleep(max(0.0, deadline - time.monotonic()))
        sys.stderr.write("\nStopped (some work did not stop in time). The state is saved; run the same command "
                         "again to resume.\n")
        sys.stderr.flush()
        os._exit(STOPPED)
    threading.Thread(target=watch, name="stop-watchdog", daemon=True).start()


def _on_stop_signal(signum: int, frame: Any) -> None:
    """Ctrl-C, SIGTERM, SIGHUP: stop as Ctrl-C does, once; the watchdog makes sure the process leaves in time.
    A repeat (another signal, or the watchdog's resend) while the stop is under way changes nothing."""
    if _stop_handled[0]:
        return
    _stop_handled[0] = True
    raise KeyboardInterrupt


def _stop_on_signals() -> None:
    """SIGTERM (a service manager, `kill`) and SIGHUP (the terminal closed) stop a headless command as Ctrl-C does:
    the wait in progress stops, the state is saved, the same message, exit 6; the same command resumes."""
    import signal
    import threading
    if threading.current_thread() is not threading.main_thread():
        return  # signals reach the main thread only (main() called from a thread: its caller handles them)
    for name in STOP_SIGNALS:
        number = getattr(signal, name, None)
        if number is not None:
            signal.signal(number, _on_stop_signal)
    _stop_handled[0] = False
    if not _watchdog_started[0]:  # once per process (tests call main() many times in one)
        _watchdog_started[0] = True
        _start_stop_watchdog()


def _ui(*, sandbox: bool, sandbox_reset: bool) -> int:
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        # A full-screen wizard needs a terminal; in a pipe, a script or CI it would hang or draw garbage.
        print("mi-wizard: the wizard needs a terminal (stdin and stdout are not one). Without one, use the headless "
              "commands: mi-wizard init, plan, apply, status, verify, doctor (mi-wizard --help).", file=sys.stderr)
        return BAD_INPUT
    from .launch import run_ui
    return run_ui(sandbox=sandbox, sandbox_reset=sandbox_reset)


def emit(args: Any, human: str, data: Any) -> None:
    if getattr(args, "json", False):
        import json
        print(json.dumps(data, indent=2, default=str))
    elif human:
        print(human)


if __name__ == "__main__":
    sys.exit(main())
