"""Running containers of the sandbox's container groups (filled in with ACI)."""

from __future__ import annotations


def stop_all(sandbox) -> None:
    """Stop every running container process of this sandbox."""
