"""What a target kind's fields on the target screen do (screens.order.TARGET_FIELDS names the widget): the target
screen shows the fields of the kind whose choice is picked, asks them what is wrong or what will happen, and
for the spec's target table. A kind without fields has only its choice and its note."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from textual.containers import Vertical

from .errors import RoutesFailures

if TYPE_CHECKING:
    from wizard.spec import Spec


class TargetFields(RoutesFailures, Vertical):
    DEFAULT_CSS = "TargetFields { height: auto; }"
    refusal: str = ""
    """Why the last `patch` returned None, in the screen's words."""

    def restore(self, answers: dict[str, Any], spec: Spec) -> None:
        """Fill in from what was typed last time (`answers`) or from the spec's target."""

    def load(self, subscription: str) -> None:
        """Start reading what the choices need (in a worker): existing container groups, pools, ...
        A failure goes the one route (screens.errors): the worker raises, the fields mark their list as not
        loaded (`on_work_failed`), the target screen shows why and offers Ctrl+R, which calls this again."""

    def show(self, choice: str | None) -> None:
        """Show the parts for `choice` (one of the kind's), or hide everything (None: another kind is picked)."""
        self.display = choice is not None

    def evaluate(self, choice: str, spec: Spec) -> tuple[str | None, str, str]:
        """(problem, note, note kind: "", "ok" or "warn"): what is wrong, or what will happen."""
        return None, "", ""

    def typed(self) -> dict[str, Any]:
        """Everything typed, valid or not (kept when going back)."""
        return {}

    def patch(self, choice: str, spec: Spec) -> dict[str, Any] | None:
        """The spec's target table for `choice`; None when it cannot be made (the fields say why)."""
        return None

    def more_screens(self, choice: str) -> list[str]:
        """Screens this choice asks for beyond the kind's own (e.g. "grants" when a box asks for other access)."""
        return []
