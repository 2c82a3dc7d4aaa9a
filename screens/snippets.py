"""Handing a snippet over: to the terminal's clipboard (OSC 52), or to a file.

The clipboard goes through the terminal (OSC 52): nothing tells the wizard whether it reached the system
clipboard (tmux, screen and many terminals drop it), so it never says "Copied". A file always works: the path
is asked for, defaults to the current directory, and an existing file is never overwritten.
Snippets hold names and ids only; the secret's value is never in them.
"""

from __future__ import annotations

from pathlib import Path

from .dialogs import AskDialog

SENT = ("Sent {what} to the terminal's clipboard (OSC 52); if your terminal does not support it, use Save to file "
        "(F).")


def sent_text(what: str) -> str:
    """What the person is told after a copy: only what really happened."""
    return SENT.format(what=what)


def path_problem(typed: str, base: Path | None = None) -> str | None:
    """Why the typed path cannot be written (None: fine). Relative paths are under `base` (the current directory)."""
    path = resolve(typed, base)
    if path.is_dir():
        return f"{path} is a directory: add a file name."
    if path.exists():
        return f"{path} exists already: choose another name (nothing is overwritten)."
    if not path.parent.is_dir():
        return f"{path.parent} does not exist: create it first, or choose another directory."
    return None


def resolve(typed: str, base: Path | None = None) -> Path:
    path = Path(typed.strip()).expanduser()
    return path if path.is_absolute() else (base or Path.cwd()) / path


def save_dialog(what: str, default_name: str, base: Path | None = None) -> AskDialog:
    """Ask where to write the snippet; the default is a free name in the current directory."""
    base = base or Path.cwd()
    name, stem, suffix, n = default_name, Path(default_name).stem, Path(default_name).suffix, 2
    while (base / name).exists():  # never propose a file that would be refused
        name, n = f"{stem}-{n}{suffix}", n + 1
    return AskDialog(f"Save {what} to a file", f"Where to write {what} (relative paths are under {base}):",
                     value=name, check=lambda typed: path_problem(typed, base), ok_label="Save",
                     needed="A file name is needed: type one, or Esc to cancel.")


def write_new(path: Path, text: str) -> None:
    """Write `text` to a new file; fails (FileExistsError) rather than replace one made meanwhile."""
    with path.open("x", encoding="utf-8") as out:
        out.write(text if text.endswith("\n") else text + "\n")
