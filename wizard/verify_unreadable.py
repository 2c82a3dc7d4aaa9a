"""A link verify or doctor could not check because Azure would not let the signed-in account read it.

doctor runs as whoever is signed in, often someone with no role on the setup it is asked about (support staff, a
colleague). Azure then answers a read with 403 AuthorizationFailed: that says nothing about the setup, so the link
is reported as not checked, with Azure's code, the plain explanation and the fix, and the other links go on.
Sign-in failures (401, also HttpResponseErrors) are not this: the command reports them as it does everywhere.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from azure.core.exceptions import ClientAuthenticationError, HttpResponseError

from .azure.errors import explain

if TYPE_CHECKING:
    from .verify import Link


def refused_read(exc: BaseException) -> bool:
    """Azure refused the signed-in account this read (403), as opposed to a failed sign-in or anything else."""
    if not isinstance(exc, HttpResponseError) or isinstance(exc, ClientAuthenticationError):
        return False
    return explain(exc).status == 403


def unreadable_link(name: str, exc: BaseException) -> Link:
    """The link `name`, not checked: what Azure said and how to get the access the check needs."""
    from .verify import Link
    info = explain(exc)
    said = f" Azure said: {info.message}" if info.message and info.message != info.explanation else ""
    return Link(name, False, f"Could not check it: the signed-in account may not read what this link needs "
                             f"({info.code}: {info.explanation}){said}",
                f"{info.fix} Reader on the resource is enough for this check (it only reads).")


def link_unless_refused(name: str, check: Callable[[], Link]) -> Link:
    """The link `check` returns, or `name` not checked when Azure refused the read (for checks run side by side,
    whose links the checker adds in order)."""
    try:
        return check()
    except HttpResponseError as err:
        if not refused_read(err):
            raise
        return unreadable_link(name, err)
