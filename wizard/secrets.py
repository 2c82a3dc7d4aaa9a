"""Where the secret value comes from: a masked prompt, an environment variable, a file, or stdin.

`prepare()` reads the value once, before anything is written to Azure, checks it (empty, blank, over 25 KB,
not UTF-8) and keeps it in memory in the source object; `read()` hands that same value to the secret step.
The value is never stored in the state, the spec, a log, an argument list or an exception message
(`env:NAME` and `file:PATH` name the source, not the value), and `repr()` never shows it.
"""

from __future__ import annotations

import getpass
import os
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

# Read at most this much: a secret over Key Vault's 25 KB limit is refused anyway, and a wrong path (a disk
# image, /dev/zero) must not be read into memory whole. The 2 extra bytes leave room for a final "\r\n".
_READ_LIMIT = 25 * 1024 + 2


class SecretSourceError(ValueError):
    """The secret cannot be read from the source given: what is wrong and how to fix it."""


@dataclass(frozen=True)
class SecretSource:
    kind: str
    """prompt, env, file, stdin or value (the UI's masked input, held in memory only)."""
    ref: str = ""
    reader: Callable[[], str] | None = None
    # The prepared value: private, never compared, never shown (frozen: set through object.__setattr__).
    _value: str | None = field(default=None, init=False, repr=False, compare=False)
    _refused: str | None = field(default=None, init=False, repr=False, compare=False)
    """Why the value was refused: said again on a later call rather than reading stdin or prompting twice."""
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False, compare=False)

    def describe(self) -> str:
        return {"prompt": "a masked prompt", "env": f"environment variable {self.ref}", "file": f"file {self.ref}",
                "stdin": "standard input", "value": "what you typed (masked)"}[self.kind]

    @property
    def prepared(self) -> bool:
        return self._value is not None

    def prepare(self) -> None:
        """Read the value once and check it; raise SecretSourceError saying what is wrong and how to fix it.

        Called before the first write, so a bad value stops the run while nothing exists yet. Calling it again
        does nothing: stdin and a prompt can only be read once.
        """
        with self._lock:
            if self._value is not None:
                return
            if self._refused is not None:
                raise SecretSourceError(self._refused)
            try:
                value = self._read_source()
                from .azure.names import secret_value_problem
                problem = secret_value_problem(value, fix=self._fix())
                if problem:
                    if problem.startswith("The "):  # "Environment variable X: the secret value is empty; ..."
                        problem = "t" + problem[1:]
                    raise SecretSourceError(f"{self._label()}: {problem}")
            except SecretSourceError as err:
                object.__setattr__(self, "_refused", str(err))
                raise
            object.__setattr__(self, "_value", value)

    def read(self) -> str:
        """The prepared value (preparing it first if needed)."""
        self.prepare()
        assert self._value is not None
        return self._value

    def __repr__(self) -> str:  # never show the value or a reader's contents
        return f"SecretSource(kind={self.kind!r}, ref={self.ref!r})"

    # -- reading ----------------------------------------------------------------------------------------------
    def _read_source(self) -> str:
        if self.kind == "env":
            if self.ref not in os.environ:
                raise SecretSourceError(f"Environment variable {self.ref} is not set. Export it with the secret value "
                                        f"(export {self.ref}=...), or use --secret-from file:PATH or stdin.")
            return os.environ[self.ref]
        if self.kind == "file":
            return self._read_file()
        if self.kind == "stdin":
            return self._read_stdin()
        if self.kind == "value" and self.reader is not None:
            return self.reader()
        if sys.stdin is None or not _isatty(sys.stdin):
            # getpass would fall back to reading a line of stdin with only a warning: say what to do instead.
            raise SecretSourceError("There is no terminal to ask for the secret value (masked). Use --secret-from "
                                    "env:NAME, file:PATH or stdin.")
        try:
            return getpass.getpass("Secret value (not shown): ")
        except EOFError:
            raise SecretSourceError("No secret value was typed (the input ended). Run again and type or paste it "
                                    "at the prompt, or use --secret-from env:NAME, file:PATH or stdin.") from None

    def _read_file(self) -> str:
        path = Path(self.ref)
        if path.is_dir():
            raise SecretSourceError(f"The secret file {self.ref} is a directory. Give the path of the file that "
                                    "holds the secret value: --secret-from file:PATH.")
        try:
            with path.open("rb") as handle:
                raw = handle.read(_READ_LIMIT + 1)
        except FileNotFoundError:
            raise SecretSourceError(f"There is no secret file at {self.ref}. Check the path (relative paths start "
                                    f"from {Path.cwd()}).") from None
        except OSError as err:
            raise SecretSourceError(f"Cannot read the secret file {self.ref}: {err.strerror}. Check the path and "
                                    "its permissions (the file must be readable by you).") from None
        return self._decode(raw)

    def _read_stdin(self) -> str:
        stream: IO[bytes] | None = getattr(sys.stdin, "buffer", None)
        try:
            if stream is not None:
                return self._decode(stream.read(_READ_LIMIT + 1))
            text = sys.stdin.read(_READ_LIMIT + 1)  # a text stream without bytes underneath (tests, embedding)
            if len(text) > _READ_LIMIT:
                raise self._too_large()
        except UnicodeDecodeError:
            raise self._not_utf8() from None
        except OSError as err:
            raise SecretSourceError(f"Cannot read the secret from standard input: {err.strerror or err}. Pipe the "
                                    "value in (--secret-from stdin < FILE), or use env:NAME or file:PATH.") from None
        return self._trim(text)

    def _decode(self, raw: bytes) -> str:
        if len(raw) > _READ_LIMIT:  # checked before decoding: the cut may fall inside a character
            raise self._too_large()
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as err:
            raise self._not_utf8(err.start) from None
        return self._trim(text)

    @staticmethod
    def _trim(text: str) -> str:
        # The newline that `echo` and editors add is not part of the secret.
        return text.rstrip("\r\n")

    def _too_large(self) -> SecretSourceError:
        return SecretSourceError(f"{self._label()}: Key Vault secret values are at most 25 KB (25,600 bytes in "
                                 "UTF-8); this one is larger. Store a smaller value, or keep large data in a storage "
                                 "account and put its location in the secret.")

    def _not_utf8(self, offset: int | None = None) -> SecretSourceError:
        # The offending byte is part of the secret: say where, never what.
        where = f" (the first bad byte is at offset {offset})" if offset is not None else ""
        return SecretSourceError(f"{self._label()}: the secret is not UTF-8 text{where}, and Key Vault stores "
                                 "secrets as text. Save it as UTF-8, or base64-encode binary data first "
                                 "(base64 -w0 FILE > FILE.b64).")

    # -- messages ---------------------------------------------------------------------------------------------
    def _label(self) -> str:
        return {"prompt": "The typed secret", "env": f"Environment variable {self.ref}",
                "file": f"The secret file {self.ref}", "stdin": "Standard input",
                "value": "The typed secret"}.get(self.kind, "The secret")

    def _fix(self) -> str:
        return {"env": f"export the secret value in {self.ref} (export {self.ref}=...), or use --secret-from "
                       "file:PATH or stdin",
                "file": f"write the secret value into {self.ref}, or point --secret-from file:PATH at the file "
                        "that holds it",
                "stdin": "pipe the secret value in (--secret-from stdin < FILE), or use env:NAME or file:PATH",
                }.get(self.kind, "type or paste the value to store")


def _isatty(stream: IO[str]) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError, OSError):  # closed or replaced streams
        return False


def parse_secret_source(text: str | None) -> SecretSource:
    if not text or text == "prompt":
        return SecretSource("prompt")
    if text == "stdin" or text == "-":
        return SecretSource("stdin")
    kind, sep, ref = text.partition(":")
    if sep and kind in ("env", "file") and ref:
        return SecretSource(kind, ref)
    # Not quoted back: what was given may be the secret value itself.
    raise SecretSourceError("--secret-from is not understood: use env:NAME, file:PATH, stdin or prompt. (The value "
                            "itself never goes on the command line, so what you gave is not repeated here.)")


def in_memory(getter: Callable[[], str]) -> SecretSource:
    """For the UI's masked input: the value stays in the process."""
    return SecretSource("value", reader=getter)
