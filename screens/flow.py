"""The flow controller: which screen follows which, what one screen hands the next, and the save-then-move rule.

Screens never pass state to each other through shared flags: a screen that has something for the next one
navigates with a typed result (below), which this controller hands to the screen it makes. The wizard is one
linear stack that Back and Next replace screen by screen (`switch_screen`), and everything chosen is saved to the
state as the person moves, so a resumed setup needs nothing but the state file and, when it resumes before
signing in, the `Resuming` handed to the sign-in screen. Screen modules are imported when first shown.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from wizard.draft import SCREENS

from .order import DETAILS_SCREENS, shown_screens

if TYPE_CHECKING:
    from textual.app import App
    from textual.screen import Screen

    from .services import Services

HOME = "welcome"
_CLASSES = {
    "welcome": "welcome:WelcomeScreen", "signin": "signin:SignInScreen",
    "subscription": "subscription:SubscriptionScreen", "resource_group": "resource_group:ResourceGroupScreen",
    "identity": "identity:IdentityScreen", "vault": "vault:VaultScreen", "secret": "secret:SecretScreen",
    "permissions": "permissions:PermissionsScreen", "target": "target:TargetScreen",
    "grants": "grants:GrantsScreen", "review": "review:ReviewScreen",
    "apply": "apply:ApplyScreen", "result": "result:ResultScreen",
}


@dataclass(frozen=True)
class Resuming:
    """A setup resumed before signing in: the sign-in screen is shown first, then the screen it was left on."""

    to: str


@dataclass(frozen=True)
class ReviewConfirmed:
    """The review's Apply: the plan was just confirmed (and saved), so the apply screen carries it out at once
    (an apply screen resumed without it asks first)."""


@dataclass(frozen=True)
class Applied:
    """The apply screen's end: the verification report it hands the result screen."""

    report: dict[str, Any]


Handed = Resuming | ReviewConfirmed | Applied
"""What a screen hands on when it moves forward."""

_GIVEN_TO_NEXT = (ReviewConfirmed, Applied)
"""Results the next screen takes as its argument (a `Resuming` only says where sign-in leads)."""


def make_screen(screen_id: str, services: Services, handed: Handed | None = None) -> Screen:
    if screen_id == "details":  # the target kind's own screen (AKS's cluster, GitHub's repository)
        assert services.draft is not None, "a target's details belong to a setup"
        where = DETAILS_SCREENS[services.draft.spec.target.kind]
    else:
        where = _CLASSES[screen_id]
    module, _, name = where.partition(":")
    screen_type = getattr(importlib.import_module(f"screens.{module}"), name)
    return screen_type(services) if handed is None else screen_type(services, handed)  # type: ignore[no-any-return]


def following(screen_id: str, services: Services, result: Handed | None = None) -> str:
    if isinstance(result, Resuming):  # signed in on the way back into a setup: where it was left
        return result.to
    if screen_id == "result":
        return HOME
    return _step(screen_id, services, +1)


def preceding(screen_id: str, services: Services | None = None) -> str:
    if screen_id == "signin":
        return HOME
    if screen_id in ("apply", "result"):
        return "review"  # the plan, re-read: never back into an apply screen that would re-run
    return _step(screen_id, services, -1)


def _step(screen_id: str, services: Services | None, direction: int) -> str:
    """The next (+1) or previous (-1) screen this setup needs: screens it does not need are skipped."""
    needed = set(shown_screens(services.draft if services is not None else None))
    index = SCREENS.index(screen_id) + direction
    while 0 < index < len(SCREENS) - 1 and SCREENS[index] not in needed:
        index += direction
    return SCREENS[index]


def step_counter(draft: Any, screen_id: str) -> str:
    """ "step 9 of 12" once the target is chosen, "step 5" before: which screens follow depends on the target (AKS
    and GitHub have a details screen, Batch other access), so a total shown earlier would change mid-flow."""
    from wizard.setup_progress import target_chosen
    shown = shown_screens(draft)  # the setup's own screens
    step = shown.index(screen_id) + 1 if screen_id in shown else 0
    if draft is None or not target_chosen(draft.state):
        return f"step {step}"
    return f"step {step} of {len(shown)}"


def navigate(app: App, screen: Any, direction: str, *, answers: dict[str, Any] | None = None,
             spec: dict[str, Any] | None = None, result: Handed | None = None) -> None:
    """Save what the screen holds (the spec only when going forward), then show the next or previous screen,
    handing it the screen's typed `result` (forward only)."""
    services: Services = app.services  # type: ignore[attr-defined]
    current = screen.SCREEN_ID
    if direction != "next":
        result = None
    saving = services.draft is not None and current in SCREENS

    def move() -> None:
        if saving:
            # Saved first: the choice just made decides which screens follow (e.g. no vault: no secret screen).
            services.draft.record(screen=current, answers=answers, spec=spec if direction == "next" else None)
        target = following(current, services, result) if direction == "next" else preceding(current, services)
        if saving and target in SCREENS:
            services.draft.record(at=target)
        app.switch_screen(make_screen(target, services, result if isinstance(result, _GIVEN_TO_NEXT) else None))

    from .errors import run_action
    run_action(screen, "save your choice", move)  # a locked, moved or unreadable state: said, and it stays


def open_setup(app: App, draft: Any) -> None:
    """Land on the screen where the setup was left; through sign-in first when not signed in yet."""
    services: Services = app.services  # type: ignore[attr-defined]
    services.draft = draft
    services.secret.clear()
    target = draft.screen
    if services.session is None and target != "signin":
        app.switch_screen(make_screen("signin", services, Resuming(target)))
        return
    app.switch_screen(make_screen(target, services))


def save_typed(app: App, then: Callable[[], None]) -> None:
    """On quit: keep what the wizard screen under any dialog holds, so the resumed screen shows it; then `then`
    (quitting), whether or not the state could be written."""
    services: Services = app.services  # type: ignore[attr-defined]
    screen = next((s for s in reversed(app.screen_stack) if getattr(s, "SCREEN_ID", "") in SCREENS), None)
    if screen is None or services.draft is None or not getattr(screen, "SAVES_TYPED", False):
        then()
        return
    from .errors import run_action
    run_action(app, "save what you typed", lambda: services.draft.record(screen=screen.SCREEN_ID,
                                                                         answers=screen.typed()), after=then)
