"""Command palette entries for the wizard (Ctrl+P), beside Textual's own (themes, keys, quit)."""

from __future__ import annotations

from functools import partial
from typing import Any

from textual.command import DiscoveryHit, Hit, Hits, Provider


class WizardCommands(Provider):
    def _commands(self) -> list[tuple[str, str, Any]]:
        app: Any = self.app
        screen: Any = self.screen  # the screen the palette was opened on, not the palette itself
        found = [("Help", "What this screen is for, and the keys", app.action_help)]
        if hasattr(screen, "action_back"):
            found.append(("Back", "The previous step; what you typed is kept", screen.action_back))
        if getattr(screen, "can_advance", False):
            found.append(("Next", "Save this choice and go on", screen.action_next))
        if app.services.draft is not None and hasattr(screen, "action_save_spec"):
            found.append(("Save the spec file", "Write this setup's choices as TOML (no secret)",
                          screen.action_save_spec))
        found.append(("Home", "The list of setups (everything chosen so far is saved)", app.go_home))
        return found

    async def discover(self) -> Hits:
        for name, help_text, callback in self._commands():
            yield DiscoveryHit(name, callback, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for name, help_text, callback in self._commands():
            score = matcher.match(name)
            if score > 0:
                yield Hit(score, matcher.highlight(name), partial(callback), help=help_text)
