"""The App: wires services, screens, session and messages together. No Azure SDK or engine import here, so
the first screen paints before any heavy import (the session is opened in a worker afterwards).

What the first paint does not need is imported later: the flow (and with it wizard.draft) and the messages
come when first used, and the sandbox starts after the welcome screen has painted.
"""

from __future__ import annotations

import gc
from pathlib import Path
from typing import Any

from textual import work
from textual.app import App
from textual.binding import Binding
from textual.screen import Screen

from .commands import WizardCommands
from .errors import RoutesFailures, notify_failure
from .key_buffer import HoldsKeysWhileSwitching
from .place import AZURE, PLACES, SANDBOX
from .services import Services, SessionFactory


class WizardApp(HoldsKeysWhileSwitching, RoutesFailures, App[int]):
    TITLE = "mi-wizard"
    CSS_PATH = "wizard.tcss"
    COMMANDS = App.COMMANDS | {WizardCommands}
    BINDINGS = [Binding("f1", "help", "Help", tooltip="What this screen is for, and the keys.")]

    def __init__(self, services: Services, *, resume_gc: bool = False):
        super().__init__()
        self.services = services
        self._resume_gc = resume_gc
        """The CLI paused the cyclic GC for the start (wizard.launch): freeze what exists and resume it once the
        first screen has painted."""
        self.hold_keys()  # until the first screen has painted (_first_painted), as after any switch

    def get_default_screen(self) -> Screen:
        """The welcome screen (flow.HOME, without importing the flow for the first paint) is the bottom of the stack
        from the start. Pushed over Textual's blank default screen instead, the start would lay out and paint that
        one first: a frame nobody sees, a tenth of the time to the first screen (benchmarks/ui_first_screen.py)."""
        from .welcome import WelcomeScreen
        screen = WelcomeScreen(self.services)
        # Textual gives its default screen no result callback, so switching away from it (Next, Resume: the flow
        # replaces screens) would fail on popping one (Textualize/textual#2650). A switched-to screen gets exactly
        # this one (App.switch_screen).
        screen._push_result_callback(screen, None)
        return screen

    def on_mount(self) -> None:
        self.call_after_refresh(self._first_painted)

    def _first_painted(self) -> None:
        self.release_keys()  # the keys typed before it, held since __init__
        if self._resume_gc:
            self._resume_gc = False
            gc.freeze()
            gc.enable()
        if not self.services.place.offers_sign_in_choice:
            # Nothing to ask (the sandbox): opened at once, but after the first paint, because the session's imports
            # (Azure SDK, sandbox) would compete with it for the GIL.
            self.open_session()

    # -- session ------------------------------------------------------------------------------------------
    @work(thread=True, group="session", exclusive=True, exit_on_error=False, description="sign in")
    def open_session(self, cloud: str = "public", kind: str = "auto") -> None:
        from .messages import SessionOpened
        session = self.services.open_session(cloud=cloud, kind=kind, prompt=self._show_device_code)
        operator = session.operator
        self.post_message(SessionOpened(operator.display or operator.object_id, operator.tenant_id,
                                        session.profile.name))

    def _show_device_code(self, url: str, code: str, expires: Any = None) -> None:
        from .messages import DeviceCodeShown
        self.post_message(DeviceCodeShown(url, code))

    # Session news (screens.messages: SessionOpened, SessionFailed, DeviceCodeShown) is the app's; the screen on
    # top decides what to show. Handlers by name, so the messages module is not needed before the first paint.
    def on_session_opened(self, message: Any) -> None:
        self.forward(message)

    def on_session_failed(self, message: Any) -> None:
        self.forward(message)

    def on_device_code_shown(self, message: Any) -> None:
        self.forward(message)

    def on_work_failed(self, message: Any) -> None:
        """The end of the one failure route (screens.errors): a failed sign-in is session news for the screen on
        top; anything else nobody showed in place becomes a notice."""
        if message.work == "session" and not message.shown:
            from .messages import SessionFailed
            self.screen.post_message(SessionFailed(message.failure.text()))
            message.shown = True
        notify_failure(self, message)

    def forward(self, message: Any) -> None:
        self.screen.post_message(type(message)(**{k: getattr(message, k) for k in message.__dataclass_fields__}))

    # -- moving and helping -------------------------------------------------------------------------------
    def navigate(self, screen: Any, direction: str, **saved: Any) -> None:
        from . import flow
        flow.navigate(self, screen, direction, **saved)

    def open_setup(self, draft: Any) -> None:
        from . import flow
        flow.open_setup(self, draft)

    def go_home(self) -> None:
        from . import flow
        self.switch_screen(flow.make_screen(flow.HOME, self.services))

    def action_help(self) -> None:
        from .help import HelpScreen
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(self.screen))

    async def action_quit(self) -> None:
        from . import flow

        def leave() -> None:
            # Running engine threads stop at their next check; the state is saved after every step anyway.
            self.services.cancel_all()
            self.exit(0)
        flow.save_typed(self, then=leave)


def make_app(*, session_factory: SessionFactory | None = None, sandbox: bool = False, sandbox_reset: bool = False,
             state_dir: Path | None = None, sandbox_dir: Path | None = None, resume_gc: bool = False) -> WizardApp:
    """The app for the CLI and the tests: a sandbox, a real cloud, or any session factory (tests)."""
    opened = {"reset": sandbox_reset}

    def sandbox_factory(**_: Any) -> Any:
        from wizard.session import open_session
        reset, opened["reset"] = opened["reset"], False  # --sandbox-reset resets once, not at every sign-in
        return open_session(sandbox=True, sandbox_reset=reset, sandbox_dir=sandbox_dir)

    def cloud_factory(cloud: str = "public", kind: str = "auto", prompt: Any = None) -> Any:
        from wizard.sign_in_options import sign_in
        return sign_in(cloud, kind, prompt=prompt)

    place = PLACES[sandbox]
    factory = session_factory or {SANDBOX: sandbox_factory, AZURE: cloud_factory}[place]
    services = Services(session_factory=factory, sandbox_factory=sandbox_factory, state_dir=state_dir, place=place)
    return WizardApp(services, resume_gc=resume_gc)


def run(*, sandbox: bool = False, sandbox_reset: bool = False, resume_gc: bool = False) -> int:
    app = make_app(sandbox=sandbox, sandbox_reset=sandbox_reset, resume_gc=resume_gc)
    try:
        code = app.run()
    finally:
        app.services.close()
    return int(code or 0)
