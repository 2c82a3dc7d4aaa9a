"""Driving the wizard like a person: wait for what a screen shows, press keys, read the screen as text."""

from __future__ import annotations

import html
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

SECRET_VALUE = "ghp_UI-s3cr3t-never-on-disk-or-screen-91c2"


async def wait_for(pilot, condition: Callable[[], Any], *, timeout: float = 90.0, what: str = "") -> Any:
    """Let the app run until `condition()` is truthy (workers report through messages); fail at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what or condition}; screen:\n"
                                 + screen_text(pilot.app))
        await pilot.pause(0.02)


def screen_text(app) -> str:
    """What a person sees: the rendered screen as plain text."""
    svg = re.sub(r"<style.*?</style>", "", app.export_screenshot(), flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", "", svg)).replace("\xa0", " ")


def on(app, name: str) -> bool:
    """The screen on top is `name` and it is mounted (its widgets composed: a test may query them)."""
    return type(app.screen).__name__ == name and app.screen.is_mounted


async def reach(pilot, name: str, *, ready: bool = True, timeout: float = 90.0) -> None:
    """Wait for screen `name` (and, with `ready`, for its Next to be offered)."""
    app = pilot.app
    await wait_for(pilot, lambda: on(app, name), what=name, timeout=timeout)
    if ready:
        await wait_for(pilot, lambda: app.screen.can_advance, what=f"{name} ready", timeout=timeout)
    await pilot.pause()  # let what the screen just learnt paint before anyone reads it


async def start_new(pilot, name: str = "prefect-aci") -> None:
    """From the welcome screen: wait for the sandbox session, Start new, name the setup."""
    app = pilot.app
    await wait_for(pilot, lambda: app.services.session is not None, what="the session")
    await pilot.press("n")
    await wait_for(pilot, lambda: on(app, "AskDialog"), what="the name dialog")
    dialog_input = app.screen.query_one("#answer")
    dialog_input.value = name
    await pilot.press("enter")
    await reach(pilot, "SignInScreen")


async def type_text(pilot, widget_id: str, text: str) -> None:
    """Focus the input and type: all but the last character pasted at once (a key press costs ~50 ms in the
    pilot), the last one pressed as a key."""
    widget = pilot.app.screen.query_one(widget_id)
    widget.focus()
    await pilot.pause()  # focusing selects the whole value: let it happen before typing
    widget.clear()
    widget.insert_text_at_cursor(text[:-1])
    await pilot.pause()
    await pilot.press(text[-1])


async def choose_group(pilot, group: str = "rg-prefect-demo") -> None:
    await reach(pilot, "ResourceGroupScreen")
    await type_text(pilot, "Picker .filter", group)
    await wait_for(pilot, lambda: (pilot.app.screen.query_one("FilterList").highlighted or 0)
                   and pilot.app.screen.query_one("FilterList").highlighted.label == group, what=group)
    await pilot.press("enter")


async def through_to_vault(pilot, group: str = "rg-prefect-demo") -> None:
    """Sign-in, subscription, group and identity with their defaults: stands on the vault screen."""
    await pilot.press("ctrl+n")
    await reach(pilot, "SubscriptionScreen")
    await pilot.press("enter")
    await choose_group(pilot, group)
    await reach(pilot, "IdentityScreen")
    await pilot.press("ctrl+n")
    await reach(pilot, "VaultScreen")


async def vault_to_review(pilot, secret: str = SECRET_VALUE) -> None:
    """Vault (as filled), secret (typed), permissions and target with defaults: stands on the review screen."""
    await pilot.press("ctrl+n")
    await reach(pilot, "SecretScreen")
    await type_text(pilot, "#value", secret)
    await pilot.press("ctrl+n")
    await reach(pilot, "PermissionsScreen")
    await pilot.press("ctrl+n")
    await reach(pilot, "TargetScreen")
    await pilot.press("ctrl+n")
    await reach(pilot, "ReviewScreen")


async def apply_until_waiting(pilot, name: str, until=None) -> None:
    """A new setup with every default, applied until it waits for Azure: by default until a countdown shows (the
    caller holds a window open in the sandbox), or until `until()` holds."""
    await start_new(pilot, name)
    await through_to_vault(pilot)
    await wait_for(pilot, lambda: pilot.app.screen.can_advance, what="the vault check")
    await vault_to_review(pilot)
    await pilot.press("ctrl+n")
    await reach(pilot, "ApplyScreen", ready=False)
    await wait_for(pilot, until or (lambda: "Next check in" in screen_text(pilot.app)), what="the wait")


def assert_secret_nowhere(root: Path, value: str = SECRET_VALUE) -> None:
    needle = value.encode()
    for path in Path(root).rglob("*"):
        if path.is_file():
            assert needle not in path.read_bytes(), f"the secret value is in {path}"


async def open_at(pilot, path: Path, screen: str, *, ready: bool = True) -> None:
    """Resume the setup saved at `path` (as Resume on the welcome screen does) and wait for `screen`."""
    from wizard.draft import Draft
    app = pilot.app
    await wait_for(pilot, lambda: app.services.session is not None, what="the session")
    app.open_setup(Draft.open(path))
    await reach(pilot, screen, ready=ready)


def new_draft(state_dir: Path, name: str, *, at: str, subscription: str, **spec: Any) -> Path:
    """A setup chosen up to screen `at`: the demo group, plus any spec changes."""
    from wizard.draft import Draft
    draft = Draft.start(name, directory=state_dir, cloud="sandbox", at=at)
    draft.record(spec={"subscription": subscription, "resource_group": "rg-prefect-demo", **spec})
    return draft.store.path
