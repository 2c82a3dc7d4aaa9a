"""`mi-wizard export SETUP|SPEC --format az|bicep|terraform [--out DIR]`: the setup as code to take away.

SOURCE is a spec (TOML), a state file or a setup's name (its spec, and what its state recorded). The files are
printed, or written into DIR (the az script made executable). None holds the secret's value.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from typing import Any

from .cli import BAD_INPUT, OK


def render(ref: str, fmt: str) -> dict[str, str]:
    """The export's files by name; ExportError / SpecError for a source that cannot be exported."""
    from .export.common import load_source
    module = importlib.import_module(f".export.{fmt}", __package__)
    files: dict[str, str] = module.render(load_source(ref))
    return files


def cmd_export(args: Any) -> int:
    from .export.common import ExportError
    from .spec import SpecError
    try:
        files = render(args.source, args.format)
    except (ExportError, SpecError) as err:
        print(f"mi-wizard: {err}", file=sys.stderr)
        return BAD_INPUT
    if args.out is None:
        for name, text in files.items():
            if len(files) > 1:
                print(f"# ---- {name}")
            sys.stdout.write(text)
        return OK
    out = Path(args.out)
    try:
        out.mkdir(parents=True, exist_ok=True)
        for name, text in files.items():
            path = out / name
            path.write_text(text)
            if name.endswith(".sh"):
                path.chmod(0o755)
    except OSError as err:
        print(f"mi-wizard: cannot write into {out}: {err.strerror or err}", file=sys.stderr)
        return BAD_INPUT
    print("\n".join(str(out / name) for name in files), file=sys.stderr)
    return OK
