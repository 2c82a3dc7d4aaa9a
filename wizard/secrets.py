"""Where the secret value comes from: a masked prompt, an environment variable, a file, or stdin.

The value is read at the moment the secret step writes it and handed straight to the SDK; it is never
stored in the state, the spec, a log, or an argument list (`env:NAME` and `file:PATH` name the source,
not the value).
"""

from __future__ import annotations

import getpass
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable


class SecretSourceError(ValueError):
    """The secret cannot be read from the source given: what is wrong and how to fix it."""


@dataclass(frozen=True)
class SecretSource:
    kind: str
    """prompt, env, file, stdin or value (the UI's masked input, held in memory only)."""
    ref: str = ""
    reader: Callable[[], str] | None = None

    def describe(self) -> str:
        return {"prompt": "a masked prompt", "env": f"environment variable {self.ref}", "file": f"file {self.ref}",
                "stdin": "standard input", "value": "what you typed (masked)"}[self.kind]

    def read(self) -> str:
        if self.kind == "env":
            if self.ref not in os.environ:
                raise SecretSourceError(f"Environment variable {self.ref} is not set. Export it, or use "
                                        "--secret-from file:PATH or stdin.")
            value = os.environ[self.ref]
        elif self.kind == "file":
            try:
                value = Path(self.ref).read_text().rstrip("\r\n")
            except OSError as err:
                raise SecretSourceError(f"Cannot read the secret file {self.ref}: {err.strerror}. Check the path "
                                        "and its permissions.") from None
        elif self.kind == "stdin":
            value = sys.stdin.read().rstrip("\r\n")
        elif self.kind == "value" and self.reader is not None:
            value = self.reader()
        else:
            value = getpass.getpass("Secret value (not shown): ")
        from .azure.names import secret_value_problem
        problem = secret_value_problem(value)
        if problem:
            raise SecretSourceError(problem)
        return value

    def __repr__(self) -> str:  # never show a reader's contents
        return f"SecretSource(kind={self.kind!r}, ref={self.ref!r})"


def parse_secret_source(text: str | None) -> SecretSource:
    if not text or text == "prompt":
        return SecretSource("prompt")
    if text == "stdin" or text == "-":
        return SecretSource("stdin")
    kind, sep, ref = text.partition(":")
    if sep and kind in ("env", "file") and ref:
        return SecretSource(kind, ref)
    raise SecretSourceError(f"--secret-from {text!r} is not understood: use env:NAME, file:PATH, stdin or prompt. "
                            "(The value itself never goes on the command line.)")


def in_memory(getter: Callable[[], str]) -> SecretSource:
    """For the UI's masked input: the value stays in the process."""
    return SecretSource("value", reader=getter)
