"""`mi-wizard init` (a spec to start from, from the examples shipped in the package) and `mi-wizard completion`."""

from __future__ import annotations

import sys
from importlib import resources
from pathlib import Path
from typing import Any

from .cli import BAD_INPUT, OK


def example_names() -> list[str]:
    return sorted(p.name.removesuffix(".toml") for p in resources.files("wizard").joinpath("examples").iterdir()
                  if p.name.endswith(".toml"))


def example_text(name: str) -> str:
    return resources.files("wizard").joinpath("examples", f"{name}.toml").read_text(encoding="utf-8")


def _summary(text: str) -> str:
    """The example's first sentence (its leading comment): what it sets up."""
    lines = []
    for line in text.splitlines():
        if not line.startswith("#"):
            break
        lines.append(line.lstrip("# ").strip())
    words = " ".join(lines)
    end = min((i for i in (words.find(". "), words.find(": ")) if i >= 0), default=len(words))
    return words[:end].rstrip(".:")


def cmd_init(args: Any) -> int:
    names = example_names()
    if args.list:
        for name in names:
            print(f"{name:24} {_summary(example_text(name))}")
        return OK
    if args.example not in names:
        print(f"mi-wizard init: no example named {args.example!r}; the examples are {', '.join(names)}.",
              file=sys.stderr)
        return BAD_INPUT
    target: Path = args.file or Path(f"{args.example}.toml")
    if target.is_dir():
        target = target / f"{args.example}.toml"
    if target.exists() and not args.force:
        print(f"mi-wizard init: {target} exists; it was left as it is. Give another file name, or --force to "
              "overwrite it.", file=sys.stderr)
        return BAD_INPUT
    try:
        target.write_text(example_text(args.example), encoding="utf-8")
    except OSError as err:
        print(f"mi-wizard init: cannot write {target}: {err.strerror or err}. Check the directory and its "
              "permissions.", file=sys.stderr)
        return BAD_INPUT
    print(f"Wrote {target} (the {args.example} example). Edit its names, subscription and resource group, then:\n"
          f"  mi-wizard plan {target}\n  mi-wizard apply {target}    (add --sandbox to try it on the sandbox)")
    return OK


def cmd_completion(args: Any) -> int:
    import shtab

    from .cli import build_parser
    print(shtab.complete(build_parser(), shell=args.shell))
    return OK
