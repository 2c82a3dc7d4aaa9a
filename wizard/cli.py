"""Command line: argument parsing and the composition root. The UI is imported only when it is needed."""

from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["sandbox"]:
        from .sandbox.serve import main as serve_main
        return serve_main(argv[1:])
    parser = argparse.ArgumentParser(prog="mi-wizard")
    parser.add_argument("--sandbox", action="store_true", help="run on the embedded local Azure sandbox")
    args = parser.parse_args(argv)
    print("mi-wizard: the wizard UI is not built yet; try `mi-wizard sandbox serve`.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
