"""The sandbox's own files in its data dir: which they are, writing them private, and a reset that deletes only them.

A data dir is the user's directory first: the sandbox touches only the names it owns. A directory that holds other
files and is not a sandbox (no marker, no database) is refused, never chmod'ed or emptied, so that a mistyped
`--data-dir ~` cannot cost anyone their files. Files holding secrets (keys, the descriptor with its client secret)
are written 0600 from their first byte and atomically: a reader sees the old file or the new one, never a
world-readable or half-written one.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

MARKER = ".mi-wizard-sandbox"
DB_FILE = "sandbox.db"
# Everything the sandbox writes into its data dir (tls.py's CA, certificate and key; tokens.py's signing key; the
# SQLite database with its journal files). A name added to the sandbox must be added here, or reset leaves it.
OWN_FILES = (MARKER, DB_FILE, f"{DB_FILE}-wal", f"{DB_FILE}-shm", f"{DB_FILE}-journal",
             "ca.pem", "server.pem", "server.key", "signing.key")


class NotASandboxDir(ValueError):
    """The data dir holds other things than a sandbox: the sandbox refuses to use, chmod or reset it."""


def is_sandbox_dir(path: Path) -> bool:
    """True when `path` holds a sandbox: its marker, or the database of a sandbox made before the marker existed."""
    return (path / MARKER).is_file() or (path / DB_FILE).is_file()


def prepare_data_dir(data_dir: Path, *, reset: bool) -> None:
    """Make `data_dir` ready for a sandbox: create it 0700, or check an existing one is a sandbox (or empty).

    With `reset`, only the sandbox's own files are deleted; anything else in the directory stays where it is.
    """
    if data_dir.exists():
        if not data_dir.is_dir():
            raise NotASandboxDir(f"{data_dir} is a file, not a sandbox data directory.")
        others = sorted(os.listdir(data_dir))
        if others and not is_sandbox_dir(data_dir):
            shown = ", ".join(others[:3]) + (", ..." if len(others) > 3 else "")
            raise NotASandboxDir(f"{data_dir} holds other files ({shown}) and is not a sandbox: refusing to use or "
                                 "reset it. Choose an empty or new directory for the sandbox's data.")
        if reset:
            for name in OWN_FILES:
                (data_dir / name).unlink(missing_ok=True)
    else:
        data_dir.mkdir(parents=True, mode=0o700)
    # Its vaults hold secret values (as Key Vault does) and its keys sign tokens: only this user may read them.
    # Safe to chmod now: the directory is new, empty, or already the sandbox's.
    data_dir.chmod(0o700)
    if not (data_dir / MARKER).exists():
        write_private(data_dir / MARKER, b"This directory holds an mi-wizard sandbox (`mi-wizard sandbox serve`).\n")


def write_private(path: Path, data: bytes) -> None:
    """Write `path` atomically and readable by this user only: a 0600 temp file beside it, renamed over it."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)  # mkstemp opens 0600
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
