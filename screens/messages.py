"""Messages that carry results and progress from thread workers to the screens (post_message is thread-safe).

Named as past-tense events. Payloads are plain data from wizard/ (catalog records, progress events, reports).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from textual.message import Message

# Session news goes to the app, which forwards a copy to the screen on top: those copies must not bubble back
# (bubble=False), or they would be forwarded again.


@dataclass
class SessionOpened(Message, bubble=False):
    """Signed in: the session is ready for every screen."""

    who: str
    tenant: str
    cloud: str


@dataclass
class SessionFailed(Message, bubble=False):
    reason: str


@dataclass
class DeviceCodeShown(Message, bubble=False):
    """Open `url` and enter `code` (device code sign-in)."""

    url: str
    code: str


@dataclass
class SetupsListed(Message):
    setups: list[Any]


@dataclass
class SignInDetected(Message):
    options: list[Any]
    reason: str | None
    """Why nothing signs in without help, or None."""


@dataclass
class PageLoaded(Message):
    """One page of a list that loads in the background."""

    source: str
    rows: list[Any]
    done: bool = False


@dataclass
class VaultNameChecked(Message):
    check: Any


@dataclass
class PlanMade(Message):
    items: list[dict[str, Any]]
    problems: list[str]
    needs_secret: bool = False
    """The secret must be written and its value is not in memory (it is never saved): ask for it."""


@dataclass
class EngineProgressed(Message):
    """A wizard.progress event from the engine's threads."""

    event: Any


@dataclass
class ApplyEnded(Message):
    outcome: str
    """done | failed | stopped | problems | needs_secret | error | changed (Azure moved on since the review)"""
    detail: str = ""
    fix: str = ""
    problems: list[str] = field(default_factory=list)


@dataclass
class Verified(Message):
    report: dict[str, Any]
