"""What the screens share, without Textual: the session, the setup being chosen, the secret held in memory.

Blocking methods (`open_session`) are called from thread workers only.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

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
    def __init__(self, *, session_factory: SessionFactory, sandbox_factory: SessionFactory | None = None,
                 state_dir: Path | None = None, sandbox: bool = False):
        self.session_factory = session_factory
        self.sandbox_factory = sandbox_factory
        self.state_dir = state_dir
        self.sandbox = sandbox
        """True: the session is the sandbox's, opened at start without asking."""
        self.session: Any = None
        self.draft: Any = None
        """The wizard.draft.Draft being chosen, once a setup is started or resumed."""
        self.resume_to: str | None = None
        """The screen to land on once signed in (resuming a setup)."""
        self.secret = SecretHolder()
        self.confirmed = False
        """Set by the review's Apply: the apply screen starts at once (a resumed apply asks first)."""
        self.report: dict[str, Any] | None = None
        """The verification report the apply screen hands to the result screen."""
        self.cancels: set[threading.Event] = set()
        """Cancel events of running engines: set on quit so their threads stop promptly."""
        self._lock = threading.Lock()

    @property
    def cloud(self) -> str:
        return self.session.profile.name if self.session is not None else ("sandbox" if self.sandbox else "public")

    def use_sandbox(self) -> None:
        """Switch to the sandbox (from "Try the sandbox" on a machine with no Azure sign-in)."""
        if self.sandbox_factory is not None:
            self.session_factory = self.sandbox_factory
        self.sandbox = True
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
