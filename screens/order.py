"""Which screens a setup shows, in which order, under which titles, and which screen parts a target kind has:
UI navigation, so it lives here.

wizard/ keeps only what the state file needs: the screen ids a setup may be saved at (wizard.draft.SCREENS, in
the order they come; the setups list reads them for "at" and progress). Which of them a given setup shows depends
on its spec and on what the target screen asked for; that is decided here. A new target kind with fields on the
target screen, or a screen of its own, is named here (wizard/targets never names a screen).
"""

from __future__ import annotations

from typing import Any

from wizard.draft import SCREENS

SCREEN_TITLES = {"signin": "Sign in", "subscription": "Subscription", "resource_group": "Resource group",
                 "identity": "Identity", "vault": "Key Vault", "secret": "Secret", "permissions": "Permissions",
                 "target": "Target", "details": "Target details", "grants": "Other access",
                 "review": "Review", "apply": "Apply", "result": "Result"}


TARGET_FIELDS = {"aci": "target_aci:AciFields", "batch": "target_batch:BatchFields"}
"""A target kind's fields on the target screen ("module:Class" under screens/, a TargetFields widget)."""
DETAILS_SCREENS = {"aks": "target_aks:AksScreen", "github": "target_github:GithubScreen"}
"""A target kind's screen of its own after the target screen ("details": AKS's cluster, GitHub's repository)."""


def screen_title(screen_id: str) -> str:
    return SCREEN_TITLES.get(screen_id, screen_id)


def screen_needed(screen: str, spec: Any, target_answers: dict[str, Any]) -> bool:
    """Whether a setup with this spec (and these target-screen answers) shows `screen`.

    The target's kind says whether it has a screen of its own; the target screen says which further screens its
    choice needs (`answers["screens"]`, e.g. other access for ACI)."""
    from wizard.targets import target_kind
    if screen in ("secret", "permissions"):
        return bool(spec.uses_vault)
    if screen == "details":
        return spec.target.kind in DETAILS_SCREENS
    if screen == "grants":
        # Extra grants are the point of a platform's identity and common for Batch / AKS; a kind that asks for
        # them on its own (ACI: a checkbox) shows the screen only when asked.
        return (target_kind(spec.target.kind).grants_screen or spec.identity.existing or bool(spec.grant_extra)
                or screen in target_answers.get("screens", ()))
    return screen in SCREENS


def shown_screens(draft: Any) -> list[str]:
    """The screens this setup shows, in order (its spec and its target screen's answers decide); every screen
    before a setup exists."""
    if draft is None:
        return list(SCREENS)
    spec, target = draft.spec, draft.answers("target")
    return [s for s in SCREENS if screen_needed(s, spec, target)]
