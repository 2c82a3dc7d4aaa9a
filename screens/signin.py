"""Sign in: the cloud, and how (Azure CLI login, environment service principal, device code shown here)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from textual import on, work
from textual.containers import Vertical
from textual.widget import Widget
from textual.widgets import RadioButton, RadioSet, Static

from .base import Collected, Note, WizardScreen, chosen
from .button import Button
from .flow import Resuming
from .messages import DeviceCodeShown, SessionFailed, SessionOpened, SignInDetected
from .place import Place

CLOUDS = (("public", "Azure"), ("china", "Azure China"), ("usgov", "Azure US Government"))

HELP = """
mi-wizard acts as **you**: it creates the identity, the vault and the grant with your rights, and reads who you are
from your sign-in token (you get write access to the new secret, nothing more).

- **Azure CLI login**: if `az login` was run on this machine, nothing else is needed.
- **Environment service principal**: `AZURE_TENANT_ID`, `AZURE_CLIENT_ID` and `AZURE_CLIENT_SECRET` (or a
  certificate) in the environment, as for automation.
- **Device code**: a code is shown here; open the link on any device with a browser and enter it.

Pick the cloud your account lives in: tokens of one cloud do not work in another.
"""


class SignInScreen(WizardScreen):
    SCREEN_ID = "signin"
    RETRIES = frozenset({"detect"})
    LEAD = "Who mi-wizard acts as. It needs rights to create resources and to grant roles."
    HELP = HELP

    def __init__(self, services: Any, resuming: Resuming | None = None):
        super().__init__(services)
        self.options: list[Any] = []
        self.resuming = resuming
        """Given by the flow when a setup is resumed before signing in: Next leads back to where it was left."""

    @property
    def place(self) -> Place:
        return self.services.place  # type: ignore[no-any-return]

    def compose_body(self) -> Iterable[Widget]:
        if not self.place.offers_sign_in_choice:
            yield Static(self.place.sign_in_lead, classes="lead")
        else:
            with RadioSet(id="cloud"):
                for key, label in CLOUDS:
                    yield RadioButton(label, name=key)
            yield Vertical(id="methods")  # the ways to sign in, once detected
            yield Button("Sign in", id="sign-in", variant="primary", compact=True)
            yield Note("", id="device-code")
        yield Note("", id="status")

    def on_mount(self) -> None:
        super().on_mount()
        session = self.services.session
        if session is not None:
            self._signed_in_text()
        else:
            self.query_one("#status", Note).say(self.place.signing_in)
        if self.place.offers_sign_in_choice:
            answers = self.answers()
            cloud = answers.get("cloud") or (self.draft.spec.cloud if self.draft else "public")
            buttons = list(self.query_one("#cloud", RadioSet).query(RadioButton))
            for button in buttons:
                button.value = button.name == cloud
            self.query_one("#cloud", RadioSet).focus()
            self.detect()

    @work(thread=True, group="detect", exclusive=True, exit_on_error=False,
          description="check how you can sign in to Azure")
    def detect(self) -> None:
        from wizard.sign_in_options import detect_sign_in, no_sign_in_reason
        options = [o for o in detect_sign_in() if o.kind != "managed_identity"]
        self.post_message(SignInDetected(options, no_sign_in_reason(options)))

    def load_data(self) -> None:
        self.detect()

    def on_sign_in_detected(self, message: SignInDetected) -> None:
        self.options = message.options
        chosen = self.answers().get("kind") or next((o.kind for o in self.options if o.available), "device_code")
        buttons = [RadioButton(f"{o.label} ({'ready' if o.available else 'not ready'})", value=o.kind == chosen,
                               name=o.kind, tooltip=o.detail) for o in self.options]
        self.query_one("#methods", Vertical).mount(RadioSet(*buttons, id="method"))
        if message.reason and self.services.session is None:
            self.query_one("#status", Note).say(f"Nothing signs you in yet. {message.reason} Use a device code, or "
                                                "go back and try the sandbox.", "warn")

    def help_text(self) -> str:
        """F1 describes only the ways to sign in this screen offers (none where the cloud signs you in itself)."""
        from .help import sign_in_help
        status = str(self.query_one("#status", Note).render()).strip()
        return sign_in_help(self.options, status or "the ways to sign in are being checked.")

    def _choice(self, set_id: str, default: str) -> str:
        found = self.query(f"#{set_id}").results(RadioSet)
        return next((chosen(radios, default) for radios in found), default)

    @on(Button.Pressed, "#sign-in")
    def sign_in(self) -> None:
        cloud, kind = self._choice("cloud", "public"), self._choice("method", "auto")
        self.query_one("#status", Note).say("Signing in…")
        self.query_one("#device-code", Note).say("")
        self.can_advance = False
        self.app.open_session(cloud=cloud, kind=kind)

    @on(RadioSet.Changed, "#cloud")
    def cloud_changed(self) -> None:
        session = self.services.session
        if session is not None and session.profile.name != self._choice("cloud", "public"):
            self.can_advance = False  # signed in to another cloud: its tokens would not work here
            self.query_one("#status", Note).say("Sign in again for this cloud.", "warn")

    def on_device_code_shown(self, message: DeviceCodeShown) -> None:
        self.query_one("#device-code", Note).say(f"Open {message.url} and enter the code {message.code}", "warn")

    def on_session_opened(self, message: SessionOpened) -> None:
        for note in self.query("#device-code").results(Note):
            note.say("")
        self._signed_in_text()
        if self.resuming is not None and not self.place.offers_sign_in_choice:
            self.action_next()  # resuming where nothing is asked here (the sandbox): on to where it was left

    def on_session_failed(self, message: SessionFailed) -> None:
        self.query_one("#status", Note).say(message.reason, "error")  # "Could not sign in. …" (screens.errors)

    def _signed_in_text(self) -> None:
        session = self.services.session
        who = session.operator
        self.query_one("#status", Note).say(f"Signed in to {session.profile.display_name} as {who.display} "
                                            f"({who.principal_type}), tenant {who.tenant_id}.", "ok")
        self.can_advance = True

    def typed(self) -> dict[str, Any]:
        if not self.place.offers_sign_in_choice:
            return {"cloud": self.place.cloud}
        return {"cloud": self._choice("cloud", "public"), "kind": self._choice("method", "auto")}

    def collect(self) -> Collected | None:
        answers = self.typed()
        # The spec's cloud is the one chosen here; where nothing is chosen (the sandbox) the spec keeps its own.
        return answers, ({"cloud": answers["cloud"]} if self.place.offers_sign_in_choice else {})

    def action_next(self) -> None:
        """Next, handing the flow where a resumed setup goes on (`Resuming`) rather than the following screen."""
        if not self.can_advance:
            self.say_why_not()
            return
        collected = self.collect()
        assert collected is not None, "sign-in always has its answers"
        answers, patch = collected
        self.app.navigate(self, "next", answers=answers, spec=patch, result=self.resuming)
