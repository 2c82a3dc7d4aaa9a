"""`mi-wizard sandbox serve`: run the sandbox standalone and print its JSON descriptor line."""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from pathlib import Path


def default_data_dir() -> Path:
    import os

    import platformdirs
    override = os.environ.get("MI_WIZARD_SANDBOX_DIR")
    return Path(override) if override else Path(platformdirs.user_data_dir("mi-wizard", appauthor=False)) / "sandbox"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="mi-wizard sandbox", description="A local Azure for demos and tests.")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="serve the sandbox until interrupted; prints one JSON descriptor line")
    serve.add_argument("--port", type=int, default=0, help="ARM and login port (default: any free port)")
    serve.add_argument("--data-dir", type=Path, default=None, help="where its data, CA and keys live")
    serve.add_argument("--seed", choices=("demo", "empty"), default="demo", help="content of a new sandbox")
    serve.add_argument("--reset", action="store_true", help="start afresh (deletes the data dir's sandbox)")
    serve.add_argument("--latency", default=None, metavar="PROFILE",
                       help="e.g. azure-typical, azure-typical:0.05 (scaled) or azure-typical:0.05:sampled")
    serve.add_argument("--faults", default=None, metavar="SPEC",
                       help="OP:KIND[*COUNT|@RATE],... with KIND 429|500|503|drop, e.g. keyvault_create:429*2,seed=7")
    args = parser.parse_args(argv)

    from . import Realism, Sandbox
    try:
        realism = Realism.from_options(latency=args.latency, faults=args.faults)
    except (ValueError, KeyError, FileNotFoundError) as err:
        print(f"mi-wizard sandbox: bad --latency or --faults: {err}", file=sys.stderr)
        return 2
    data_dir = args.data_dir or default_data_dir()
    try:
        sandbox = Sandbox(data_dir, seed=args.seed, reset=args.reset, realism=realism, port=args.port).start()
    except OSError as err:
        print(f"mi-wizard sandbox: cannot start: {err.strerror or err}. Is --port {args.port} in use?", file=sys.stderr)
        return 1
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    print(json.dumps(sandbox.descriptor()), flush=True)
    try:
        stop.wait()
    finally:
        sandbox.stop()
    return 0
