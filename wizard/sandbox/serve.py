"""`mi-wizard sandbox serve`: run the sandbox standalone and print its JSON descriptor line.

stdout carries exactly one line, the descriptor (URLs, tenant and subscription ids, the operator's client id and
secret, the CA bundle, the IMDS URL), so that `mi-wizard sandbox serve > sandbox.json` or a parent process can
read it; human notes go to stderr. SIGINT or SIGTERM stop it cleanly (exit 0); bad options exit 2, and so does a
--data-dir that holds other files and is not a sandbox (it is left exactly as it was). --reset deletes only the
sandbox's own files there. The descriptor also names the scopes to ask for and a ready `az cloud register` line.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from pathlib import Path

from .realism import FAULT_GRAMMAR, latency_profiles


def default_data_dir() -> Path:
    import os

    import platformdirs
    override = os.environ.get("MI_WIZARD_SANDBOX_DIR")
    return Path(override) if override else Path(platformdirs.user_data_dir("mi-wizard", appauthor=False)) / "sandbox"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mi-wizard sandbox", description="A local Azure for demos and tests.")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="serve the sandbox until interrupted; prints one JSON descriptor line",
                           description="Serve a local Azure (ARM, Entra login, Key Vault, IMDS) over HTTPS until "
                                       "interrupted. Prints one JSON descriptor line on stdout.")
    serve.add_argument("--port", type=int, default=0, help="ARM and login port (default: any free port)")
    serve.add_argument("--data-dir", type=Path, default=None,
                       help="where its data, CA and keys live (default: the user data dir, or $MI_WIZARD_SANDBOX_DIR)")
    serve.add_argument("--seed", choices=("demo", "empty"), default="demo",
                       help="content of a new sandbox: demo groups, vaults, containers and a Batch pool, or only "
                            "subscriptions and operators (an existing sandbox keeps its content)")
    serve.add_argument("--reset", action="store_true",
                       help="start afresh: delete the sandbox's own files in the data dir (nothing else there)")
    serve.add_argument("--descriptor", type=Path, default=None, metavar="FILE",
                       help="also write the descriptor to FILE (mode 0600), e.g. for --sandbox-descriptor")
    serve.add_argument("--latency", default=None, metavar="PROFILE[:SCALE][:sampled]",
                       help=f"per-call latency and LRO durations from a profile ({', '.join(latency_profiles())}), "
                            "e.g. azure-typical:0.05 (scaled) or azure-typical:0.05:sampled (lognormal draws)")
    serve.add_argument("--faults", default=None, metavar="SPEC",
                       help=f"{FAULT_GRAMMAR} with KIND 429|500|503|drop and OP an operation name or *, "
                            "e.g. keyvault_create:429*2,*:503@0.05,seed=7")
    return parser


def known_operations() -> set[str]:
    """Every operation name a fault may target (the names the routes register)."""
    from . import providers  # noqa: F401 - registers every route
    from .router import router
    return {route.operation for route in router.routes}


def main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)

    from . import Realism, Sandbox
    from .files import NotASandboxDir
    try:
        realism = Realism.from_options(latency=args.latency, faults=args.faults, known_operations=known_operations())
    except ValueError as err:
        print(f"mi-wizard sandbox: bad --latency or --faults: {err}", file=sys.stderr)
        return 2
    data_dir = args.data_dir or default_data_dir()
    try:
        sandbox = Sandbox(data_dir, seed=args.seed, reset=args.reset, realism=realism, port=args.port).start()
    except NotASandboxDir as err:
        print(f"mi-wizard sandbox: bad --data-dir: {err}", file=sys.stderr)
        return 2
    except OSError as err:
        print(f"mi-wizard sandbox: cannot start: {err.strerror or err}. Is --port {args.port} in use?", file=sys.stderr)
        return 1
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    try:
        if args.descriptor:
            try:
                sandbox.write_descriptor(args.descriptor)
            except OSError as err:
                print(f"mi-wizard sandbox: cannot write --descriptor {args.descriptor}: {err.strerror or err}",
                      file=sys.stderr)
                return 1
        print(json.dumps(sandbox.descriptor()), flush=True)
        print(f"mi-wizard sandbox: serving {sandbox.arm_url} from {data_dir}; Ctrl-C to stop.", file=sys.stderr,
              flush=True)
        stop.wait()
    finally:
        sandbox.stop()
    return 0
