"""Signing in on a real cloud: the detected ways, a device code shown on the screen, a clear failure."""

from __future__ import annotations

import threading

import pytest
from textual.widgets import RadioButton

from screens.app import make_app
from wizard.azure.clients import make_credential
from wizard.session import Session
from wizard.sign_in_options import SignInFailed, detect_sign_in, no_sign_in_reason

from .helpers import reach, screen_text, wait_for

pytestmark = pytest.mark.timeout(60)


def no_credentials(monkeypatch, tmp_path) -> None:
    for var in ("AZURE_CLIENT_ID", "AZURE_TENANT_ID", "AZURE_CLIENT_SECRET", "AZURE_CLIENT_CERTIFICATE_PATH",
                "AZURE_FEDERATED_TOKEN_FILE", "AZURE_CONFIG_DIR"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("PATH", str(tmp_path / "no-az"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))


async def start_on_sign_in(pilot) -> None:
    await wait_for(pilot, lambda: "No Azure sign-in found" in screen_text(pilot.app), what="the detection")
    await pilot.press("n", "enter")
    await reach(pilot, "SignInScreen", ready=False)
    await wait_for(pilot, lambda: pilot.app.screen.query("#method RadioButton"), what="the sign-in methods")


async def test_a_device_code_is_shown_on_the_screen(monkeypatch, tmp_path, profile):
    no_credentials(monkeypatch, tmp_path)
    shown, chosen = threading.Event(), {}

    def device_code_sign_in(cloud: str = "public", kind: str = "auto", prompt=None) -> Session:
        chosen.update(cloud=cloud, kind=kind)
        prompt("https://microsoft.com/devicelogin", "KX7-PQ42", None)
        assert shown.wait(20), "the code never reached the screen"
        return Session(profile, make_credential(profile))

    app = make_app(session_factory=device_code_sign_in, state_dir=tmp_path / "state")
    async with app.run_test(size=(80, 24)) as pilot:
        await start_on_sign_in(pilot)
        assert "Azure CLI login (not ready)" in screen_text(app)
        methods = {b.name: b for b in app.screen.query("#method RadioButton").results(RadioButton)}
        methods["device_code"].value = True
        list(app.screen.query("#cloud RadioButton").results(RadioButton))[2].value = True  # US Government
        await pilot.click("#sign-in")
        await wait_for(pilot, lambda: "KX7-PQ42" in screen_text(app), what="the device code")
        assert "https://microsoft.com/devicelogin" in screen_text(app)
        shown.set()
        await reach(pilot, "SignInScreen")
        assert "Signed in to the sandbox" in screen_text(app)
        assert chosen == {"cloud": "usgov", "kind": "device_code"}
        await pilot.press("ctrl+n")
        await reach(pilot, "SubscriptionScreen", ready=False)
    assert app.services.draft.spec.cloud == "usgov"


async def test_a_device_code_sign_in_against_the_sandbox_signs_in_once_the_code_is_entered(
        monkeypatch, tmp_path, sandbox, profile):
    """The real device-code flow (azure-identity's DeviceCodeCredential against the sandbox's Entra ID): the code
    Entra issued is shown on the screen, the person enters it in a browser (here: the sandbox's /devicelogin, as
    the operator), and the screen then says who is signed in."""
    import asyncio

    import requests
    no_credentials(monkeypatch, tmp_path)
    codes: list[str] = []

    def device_code_session(cloud: str = "public", kind: str = "auto", prompt=None) -> Session:
        def shown(url: str, code: str, expires=None) -> None:
            codes.append(code)
            prompt(url, code, expires)
        return Session(profile, make_credential(profile, "device_code", prompt_callback=shown))

    app = make_app(session_factory=device_code_session, state_dir=tmp_path / "state")
    async with app.run_test(size=(80, 24)) as pilot:
        await start_on_sign_in(pilot)
        methods = {b.name: b for b in app.screen.query("#method RadioButton").results(RadioButton)}
        methods["device_code"].value = True
        await pilot.click("#sign-in")
        await wait_for(pilot, lambda: codes and codes[0] in screen_text(app), what="Entra's device code")
        assert f"{sandbox.authority}/devicelogin" in screen_text(app).replace("\n", "")
        operator = sandbox.descriptor()
        approved = await asyncio.to_thread(requests.post, f"{sandbox.authority}/devicelogin", data={
            "code": codes[0], "client_id": operator["client_id"], "client_secret": operator["client_secret"]},
            verify=operator["ca_bundle"], timeout=30)
        assert approved.status_code == 200, approved.text
        await reach(pilot, "SignInScreen")  # Next is offered once signed in
        assert "Signed in to" in screen_text(app) and "mi-wizard@sandbox.local" in screen_text(app)


async def test_a_failed_sign_in_says_why(monkeypatch, tmp_path):
    no_credentials(monkeypatch, tmp_path)

    def failing(**_):
        raise SignInFailed("No Azure sign-in was found. Run `az login`, or try the sandbox with --sandbox.")

    app = make_app(session_factory=failing, state_dir=tmp_path / "state")
    async with app.run_test(size=(80, 24)) as pilot:
        await start_on_sign_in(pilot)
        await pilot.click("#sign-in")
        await wait_for(pilot, lambda: "Could not sign in" in screen_text(app), what="the failure")
        assert "az login" in screen_text(app) and not app.screen.can_advance


def test_detection_explains_each_way(tmp_path):
    home = tmp_path / "home"
    (home / ".azure").mkdir(parents=True)
    (home / ".azure" / "azureProfile.json").write_text(
        '{"subscriptions": [{"isDefault": true, "user": {"name": "ada@contoso.com"}}]}', encoding="utf-8-sig")
    az = tmp_path / "bin" / "az"
    az.parent.mkdir()
    az.write_text("#!/bin/sh\n")
    az.chmod(0o755)
    ready = {o.kind: o for o in detect_sign_in({"PATH": str(az.parent), "AZURE_CONFIG_DIR": str(home / ".azure"),
                                                 "AZURE_CLIENT_ID": "app", "AZURE_TENANT_ID": "tenant",
                                                 "AZURE_CLIENT_SECRET": "s"})}
    assert ready["cli"].available and "ada@contoso.com" in ready["cli"].detail
    assert ready["env"].available and no_sign_in_reason(ready.values()) is None
    missing = {o.kind: o for o in detect_sign_in({"PATH": str(tmp_path), "AZURE_CLIENT_ID": "app"})}
    assert not missing["cli"].available and "not installed" in missing["cli"].detail
    assert not missing["env"].available and "AZURE_TENANT_ID" in missing["env"].detail
    assert "not installed" in no_sign_in_reason(missing.values())
