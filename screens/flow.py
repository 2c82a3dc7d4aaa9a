"""Which screen follows which, and the save-then-move rule. Screen modules are imported when first shown."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from wizard.draft import SCREENS

if TYPE_CHECKING:
    from textual.app import App
    from textual.screen import Screen

    from .services import Services

HOME = "welcome"
_CLASSES = {
    "welcome": "welcome:WelcomeScreen", "signin": "signin:SignInScreen",
    "subscription": "subscription:SubscriptionScreen", "resource_group": "resource_group:ResourceGroupScreen",
    "identity": "identity:IdentityScreen", "vault": "vault:VaultScreen", "secret": "secret:SecretScreen",
    "permissions": "permissions:PermissionsScreen", "target": "target:TargetScreen", "review": "review:ReviewScreen",
    "apply": "apply:ApplyScreen", "result": "result:ResultScreen",
}


def make_screen(screen_id: str, services: "Services") -> "Screen":
    module, _, name = _CLASSES[screen_id].partition(":")
    return getattr(importlib.import_module(f"screens.{module}"), name)(services)


def following(screen_id: str, services: "Services") -> str:
    if screen_id == "signin" and services.resume_to:
        target, services.resume_to = services.resume_to, None
        return target
    if screen_id == "result":
        return HOME
    return SCREENS[SCREENS.index(screen_id) + 1]


def preceding(screen_id: str) -> str:
    if screen_id == "signin":
        return HOME
    if screen_id in ("apply", "result"):
        return "review"  # the plan, re-read: never back into an apply screen that would re-run
    return SCREENS[SCREENS.index(screen_id) - 1]


def navigate(app: "App", screen: Any, direction: str, *, answers: dict[str, Any] | None = None,
             spec: dict[str, Any] | None = None) -> None:
    """Save what the screen holds (the spec only when going forward), then show the next or previous screen."""
    services: Services = app.services  # type: ignore[attr-defined]
    current = screen.SCREEN_ID
    target = following(current, services) if direction == "next" else preceding(current)
    if services.draft is not None and current in SCREENS:
        try:
            services.draft.record(screen=current, answers=answers, spec=spec if direction == "next" else None,
                                  at=target if target in SCREENS else None)
        except Exception as err:  # noqa: BLE001 - a locked, moved or unreadable state file: say so and stay
            app.notify(str(err), title="Not saved", severity="error", markup=False, timeout=10)
            return
    app.switch_screen(make_screen(target, services))


def open_setup(app: "App", draft: Any) -> None:
    """Land on the screen where the setup was left; through sign-in first when not signed in yet."""
    services: Services = app.services  # type: ignore[attr-defined]
    services.draft = draft
    services.secret.clear()
    target = draft.screen
    if services.session is None and target != "signin":
        services.resume_to, target = target, "signin"
    app.switch_screen(make_screen(target, services))


def save_typed(app: "App") -> None:
    """On quit: keep what the wizard screen under any dialog holds, so the resumed screen shows it."""
    services: Services = app.services  # type: ignore[attr-defined]
    screen = next((s for s in reversed(app.screen_stack) if getattr(s, "SCREEN_ID", "") in SCREENS), None)
    if screen is None or services.draft is None or not getattr(screen, "SAVES_TYPED", False):
        return
    try:
        services.draft.record(screen=screen.SCREEN_ID, answers=screen.typed())
    except Exception:  # noqa: BLE001 - quitting must work even when the state cannot be written
        pass
