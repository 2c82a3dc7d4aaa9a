"""Where setups are kept: one setup's state file read, written and locked (``StateStore``), and a directory of
them listed (``list_setups``). The file's content, and the safety rules these follow, are ``wizard.state``'s."""

from __future__ import annotations

import contextlib
import json
import os
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .state import (
    State,
    StateConflict,
    StateError,
    StateLocked,
    StateNotFound,
    default_dir,
    now_iso,
    parse_state,
    validate_setup_name,
)

STALE_TEMP_S = 60.0
"""A temp file of a state write older than this was left by a killed writer (see StateStore.lock)."""


@dataclass
class SetupSummary:
    name: str
    path: Path
    progress: str = ""
    """"4/8": finished of needed steps; "-" before anything was planned (wizard.setup_progress)."""
    updated: str = ""
    target: str = ""
    """e.g. "ACI cg-prefect", or "" when the setup has no target."""
    broken: str | None = None
    """Why the file cannot be read, when it cannot (the other fields are then mostly empty)."""


def list_setups(directory: Path | str | None = None) -> list[SetupSummary]:
    """Every setup file in the directory (default: default_dir()), by name; unreadable ones marked broken."""
    directory = Path(directory) if directory is not None else default_dir()
    if not directory.is_dir():
        return []
    out = []
    for path in sorted(directory.glob("*.json")):
        if path.name.startswith(".") or not path.is_file():
            continue
        try:
            state = parse_state(path, path.read_bytes())
        except (StateError, OSError) as err:
            out.append(SetupSummary(name=path.stem, path=path, broken=str(err)))
            continue
        from .setup_progress import progress_text, target_text  # counts of the steps the spec needs now
        out.append(SetupSummary(name=state.name or path.stem, path=path, progress=progress_text(state),
                                updated=state.updated, target=target_text(state)))
    return out


# -- the store ----------------------------------------------------------------------------------------------

class StateStore:
    """Reads and writes one setup's state file."""

    def __init__(self, path: Path | str):
        self.path = Path(path)
        self.lock_path = self.path.with_name(self.path.name + ".lock")
        self._lock_fd: int | None = None
        self._lock_depth = 0
        self._guard = threading.RLock()

    def __repr__(self) -> str:
        return f"StateStore({str(self.path)!r})"

    @classmethod
    def for_setup(cls, name: str, directory: Path | str | None = None) -> StateStore:
        problem = validate_setup_name(name)
        if problem:
            raise ValueError(problem)
        return cls(Path(directory or default_dir()) / f"{name}.json")

    def exists(self) -> bool:
        return self.path.exists()

    def load(self) -> State:
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            raise StateNotFound(f"There is no setup state at {self.path}. Start a new setup, or check "
                                "the name or --state path.") from None
        except OSError as err:
            raise StateError(f"Cannot read the state file {self.path}: {err.strerror}. "
                             "Check its permissions.") from None
        return parse_state(self.path, raw)

    def create(self, name: str, spec: dict[str, Any]) -> State:
        """A new State saved at the path (serial 1); refuses when a file is already there."""
        state = State(name=name, spec=spec)
        with self._guard:
            state.serial = 1
            state.updated = now_iso()
            try:
                self._write(state, replace=False)
            except BaseException:
                state.serial = 0
                raise
        return state

    def save(self, state: State) -> None:
        """Write atomically, serial + 1. Refuses (StateConflict) when the file on disk moved on meanwhile,
        and (StateError) when the file on disk is corrupt or newer: it is never overwritten."""
        with self._guard:
            try:
                raw = self.path.read_bytes()
            except FileNotFoundError:
                raw = None
            if raw is not None:
                on_disk = parse_state(self.path, raw)
                if on_disk.lineage != state.lineage:
                    raise StateConflict(
                        f"The state file {self.path} now belongs to another setup (created {on_disk.created}). "
                        "Nothing was saved; open that setup, or save this one under another name.")
                if on_disk.serial > state.serial:
                    raise StateConflict(
                        f"The state file {self.path} was saved by another mi-wizard meanwhile (serial "
                        f"{on_disk.serial}, this one has {state.serial}). Nothing was saved; reopen the setup "
                        "to continue from its latest state.")
            previous = (state.serial, state.updated)
            state.serial += 1
            state.updated = now_iso()
            try:
                self._write(state, replace=True)
            except BaseException:
                state.serial, state.updated = previous
                raise

    def delete(self) -> None:
        """Remove the state file (and its lock file when nobody holds it)."""
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
        if self._lock_fd is None:
            with contextlib.suppress(FileNotFoundError):
                self.lock_path.unlink()

    def _write(self, state: State, *, replace: bool) -> None:
        directory = self.path.parent
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        text = json.dumps(state.to_dict(), indent=2, ensure_ascii=False) + "\n"
        # mkstemp creates the file with mode 0600 before anything is written to it.
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{self.path.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(text)
                handle.flush()
                os.fsync(handle.fileno())
            if replace:
                os.replace(tmp, self.path)
            else:
                self._link_new(tmp)
            _fsync_dir(directory)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)

    def _link_new(self, tmp: str) -> None:
        exists = StateError(f"A setup state already exists at {self.path}. Resume it, pick another name, "
                            "or delete it first.")
        try:
            os.link(tmp, self.path)  # atomic, and fails when the path exists
        except FileExistsError:
            raise exists from None
        except OSError:  # file systems without hard links
            if self.path.exists():
                raise exists from None
            os.replace(tmp, self.path)

    # -- locking --------------------------------------------------------------------------------------------

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        """Hold the setup's exclusive lock; StateLocked when another process or StateStore holds it.

        Re-entrant for this StateStore object. The lock file stays behind (empty) after release.
        """
        with self._guard:
            if self._lock_fd is None:
                self._lock_fd = self._acquire()
                self._remove_stale_temps()
            self._lock_depth += 1
        try:
            yield
        finally:
            with self._guard:
                self._lock_depth -= 1
                if self._lock_depth == 0 and self._lock_fd is not None:
                    fd, self._lock_fd = self._lock_fd, None
                    with contextlib.suppress(OSError):
                        os.ftruncate(fd, 0)
                    _unlock(fd)
                    os.close(fd)

    def _remove_stale_temps(self) -> None:
        """Temp files of this setup's file that a killed writer left. A write takes milliseconds, so one older
        than a minute is no writer's any more."""
        for stale in self.path.parent.glob(f".{self.path.name}.*.tmp"):
            with contextlib.suppress(OSError):
                if time.time() - stale.stat().st_mtime > STALE_TEMP_S:
                    stale.unlink()

    def _acquire(self) -> int:
        self.lock_path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            if not _try_lock(fd):
                holder = _read_pid(fd)
                raise StateLocked(f"Another mi-wizard (pid {holder}) is working on setup {self.path.stem}. "
                                  "Wait for it to finish, or stop it.")
            os.ftruncate(fd, 0)
            os.lseek(fd, 0, os.SEEK_SET)
            os.write(fd, f"{os.getpid()}\n".encode())
            return fd
        except BaseException:
            os.close(fd)
            raise


def _read_pid(fd: int) -> str:
    try:
        os.lseek(fd, 0, os.SEEK_SET)
        text = os.read(fd, 32).decode("ascii", "replace").strip()
    except OSError:  # Windows: the holder's locked byte cannot be read
        text = ""
    return text if text.isdigit() else "unknown"


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # Windows cannot open directories
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


# A platform check rather than try/except ImportError, so that type checkers see which module each branch has.
if sys.platform != "win32":
    import fcntl

    def _try_lock(fd: int) -> bool:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    def _unlock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_UN)

else:  # pragma: no cover - Windows
    import msvcrt

    def _try_lock(fd: int) -> bool:
        os.lseek(fd, 0, os.SEEK_SET)
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True

    def _unlock(fd: int) -> None:
        os.lseek(fd, 0, os.SEEK_SET)
        with contextlib.suppress(OSError):
            msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)
