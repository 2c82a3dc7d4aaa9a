"""Fixtures for driving the wizard: an app on the test's in-process sandbox, state kept in tmp_path."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import Input

from screens.app import WizardApp, make_app
from wizard.azure.clients import make_credential
from wizard.session import Session


@pytest.fixture(autouse=True)
def steady_cursor(monkeypatch):
    """A blinking cursor makes two frames of the same screen differ."""
    monkeypatch.setattr(Input, "_toggle_cursor", lambda self: None)


@pytest.fixture
def state_dir(tmp_path) -> Path:
    return tmp_path / "state"


@pytest.fixture
def session_factory(profile) -> Callable[..., Session]:
    """Sessions on the test's sandbox (the fixture stops the sandbox, not the app)."""
    def factory(**_: Any) -> Session:
        return Session(profile, make_credential(profile))
    return factory


@pytest.fixture
def make(session_factory, state_dir) -> Callable[[], WizardApp]:
    """A fresh app each call, as separate runs of `mi-wizard --sandbox` would be."""
    def build() -> WizardApp:
        return make_app(session_factory=session_factory, sandbox=True, state_dir=state_dir)
    return build
