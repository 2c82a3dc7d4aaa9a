"""What the screens share, without Textual: the session, the setup being chosen, the secret held in memory.

Blocking methods (`open_session`) are called from thread workers only.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .place import AZURE, SANDBOX, Place

SessionFactory = Callable[..., Any]
"""(cloud=..., kind=..., prompt=...) -> wizard.session.Session; may block (sign-in, starting the sandbox)."""


class SecretHolder:
    """The secret value typed on the secret screen: kept in this process only, never saved or shown."""

    def __init__(self) -> None:
        self._value = ""

    def set(self, value: str) -> None:
        self._value = value

    def get(self) -> str:
        return self._value

    def __bool__(self) -> bool:
        return bool(self._value)

    def clear(self) -> None:
        self._value = ""

    def __repr__(self) -> str:
        return "SecretHolder(<hidden>)"


class Services:
    """What the screens share: the session, the setup being chosen, the secret. No screen-to-screen flags: what a
    screen hands the next one is a typed result (screens.flow)."""

    def __init__(self, *, session_factory: SessionFactory, sandbox_factory: SessionFactory | None = None,
                 state_dir: Path | None = None, place: Place = AZURE):
        self.session_factory = session_factory
        self.sandbox_factory = sandbox_factory
        self.state_dir = state_dir
        self.place = place
        """Where this run works (screens.place): the sandbox, whose session opens at start without asking, or
        Azure."""
        self.session: Any = None
        self.draft: Any = None
        """The wizard.draft.Draft being chosen, once a setup is started or resumed."""
        self.secret = SecretHolder()
        self.cancels: set[threading.Event] = set()
        """Cancel events of running engines: set on quit so their threads stop promptly."""
        self._lock = threading.Lock()

    @property
    def cloud(self) -> str:
        return self.session.profile.name if self.session is not None else self.place.cloud

    def use_sandbox(self) -> None:
        """Switch to the sandbox (from "Try the sandbox" on a machine with no Azure sign-in)."""
        self.session_factory = self.sandbox_factory or self.session_factory
        self.place = SANDBOX
        self.close_session()

    def open_session(self, **kwargs: Any) -> Any:
        session = self.session_factory(**kwargs)
        with self._lock:
            old, self.session = self.session, session
        if old is not None and old is not session:
            old.close()
        return session

    def cancel_all(self) -> None:
        for event in list(self.cancels):
            event.set()

    def close_session(self) -> None:
        with self._lock:
            session, self.session = self.session, None
        if session is not None:
            session.close()

    def close(self) -> None:
        self.cancel_all()
        self.close_session()
        self.secret.clear()
