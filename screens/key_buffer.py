"""Keys typed while one screen gives way to the next are held, then given to the new screen once it is ready.

A person who knows the wizard types ahead: `n`, a name, Enter, Ctrl+N and a filter, without waiting for each screen
to paint. Between a switch and the new screen's mount (which is where it puts the focus on its first field), a key
would reach the old screen, or the new one with nothing focused, and be lost. So from the moment a screen is
switched to or pushed until it is mounted and has painted once, keys wait here, in order. Then they are given
again one at a time: the next only once the one before has been handled (consumed by a widget, or back at the app,
where bindings such as Ctrl+N run), since a key may itself change the screen, and the keys after it are for the
screen it opens.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any

from textual import events

MOUNT_WAIT_S = 3.0
"""At most this long for a new screen to mount before held keys go on anyway (a screen that never mounts must not
swallow the keyboard)."""
KEY_HANDLED_WAIT_S = 1.0
"""At most this long for one given-again key to be handled before the next goes (never a stuck keyboard)."""


class HoldsKeysWhileSwitching:
    """Mixed into the App, before textual.app.App."""

    _pending_switches = 0
    _replaying: events.Key | None = None
    _replayed_back = False

    @property
    def _held(self) -> list[events.Key]:
        return self.__dict__.setdefault("_held_keys", [])

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, events.Key) and not event.is_forwarded and event is not self._replaying and (
                self._pending_switches or self._held or self._replaying is not None):
            self._held.append(event)  # behind the keys typed before it
            return
        came_back = isinstance(event, events.Key) and event.is_forwarded  # (the app's own pass forwards it)
        await super().on_event(event)  # type: ignore[misc]
        if event is self._replaying and came_back:
            self._replayed_back = True  # back at the app, its bindings have run: it was handled

    def switch_screen(self, screen: Any) -> Any:
        return self._holding_keys(super().switch_screen(screen), screen)  # type: ignore[misc]

    def push_screen(self, screen: Any, *args: Any, **kwargs: Any) -> Any:
        return self._holding_keys(super().push_screen(screen, *args, **kwargs), screen)  # type: ignore[misc]

    def _holding_keys(self, switched: Any, screen: Any) -> Any:
        if isinstance(switched, Awaitable) and not isinstance(switched, asyncio.Future):
            # A Future is push_screen(wait_for_dismiss=True): it completes when the screen goes, not when it shows.
            self._pending_switches += 1
            self._keep(asyncio.get_running_loop().create_task(self._release_after(switched, screen)))
        return switched

    async def _release_after(self, switched: Awaitable[Any], screen: Any) -> None:
        # A failed switch is Textual's to report; the held keys must go on all the same.
        await asyncio.gather(switched, return_exceptions=True)
        loop = asyncio.get_running_loop()
        give_up = loop.time() + MOUNT_WAIT_S
        while not getattr(screen, "is_mounted", True) and loop.time() < give_up:
            await asyncio.sleep(0.005)  # the screen's on_mount (which asks for the focus) has not run yet
        # The focus an on_mount asks for is set by a callback it queued: release after it, and after a paint.
        self.call_later(self.call_after_refresh, self._release_keys)  # type: ignore[attr-defined]

    def _keep(self, task: asyncio.Task[None]) -> None:
        """A reference to the task until it is done: the loop keeps only a weak one, and a task collected mid-way
        would leave the keys held (Ctrl+Q too)."""
        tasks: set[asyncio.Task[None]] = self.__dict__.setdefault("_key_tasks", set())
        tasks.add(task)
        task.add_done_callback(tasks.discard)

    def hold_keys(self) -> None:
        """Hold keys until `release_keys` (an action that may switch the screen is under way)."""
        self._pending_switches += 1

    def release_keys(self) -> None:
        self._release_keys()

    def _release_keys(self) -> None:
        self._pending_switches = max(0, self._pending_switches - 1)
        if not self._pending_switches and self._held and self._replaying is None:
            self._keep(asyncio.get_running_loop().create_task(self._give_again()))

    async def _give_again(self) -> None:
        loop = asyncio.get_running_loop()
        while self._held and not self._pending_switches:
            held = self._held.pop(0)
            key = self._replaying = events.Key(held.key, held.character)
            self._replayed_back = False
            self.post_message(key)  # type: ignore[attr-defined]
            give_up = loop.time() + KEY_HANDLED_WAIT_S
            # Handled: consumed on the way (a letter in an input stops it), or back at the app (bindings ran).
            while not (self._replayed_back or key._stop_propagation) and loop.time() < give_up:
                await asyncio.sleep(0.005)
            self._replaying = None
        # A key that switched the screen leaves the rest held: that switch's release gives them again.
