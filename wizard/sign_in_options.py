"""How the wizard's UI may sign in on this machine: each way (the az login, a service principal in the
environment, a device code, a managed identity) with whether it is ready and why, and the sign-in itself, proven by
reading who is signed in. Its failures are explained by wizard.azure.signin's diagnosis (the cause and the fix)."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .session import Session


@dataclass(frozen=True)
class SignInOption:
    kind: str
    """cli | env | device_code | managed_identity (the credential_kind of wizard.session)"""
    label: str
    available: bool
    detail: str


_ENV_SECRET = ("AZURE_CLIENT_SECRET", "AZURE_CLIENT_CERTIFICATE_PATH", "AZURE_FEDERATED_TOKEN_FILE")


def _cli_login(env: dict[str, str]) -> tuple[bool, str]:
    if shutil.which("az", path=env.get("PATH")) is None:
        return False, "The Azure CLI (az) is not installed."
    config = Path(env.get("AZURE_CONFIG_DIR") or Path.home() / ".azure")
    try:
        profile = json.loads((config / "azureProfile.json").read_text(encoding="utf-8-sig"))
    except (OSError, ValueError):
        return False, "The Azure CLI is installed but nobody is signed in: run `az login`."
    accounts = [s for s in profile.get("subscriptions", []) if isinstance(s, dict)]
    if not accounts:
        return False, "The Azure CLI is installed but nobody is signed in: run `az login`."
    default = next((s for s in accounts if s.get("isDefault")), accounts[0])
    who = (default.get("user") or {}).get("name", "someone")
    return True, f"Signed in as {who} ({len(accounts)} subscription{'s' if len(accounts) != 1 else ''})."


def detect_sign_in(env: dict[str, str] | None = None) -> list[SignInOption]:
    """The ways to sign in on this machine, each saying whether it is ready and why (or why not)."""
    env = dict(os.environ if env is None else env)
    cli_ok, cli_detail = _cli_login(env)
    have = [k for k in ("AZURE_TENANT_ID", "AZURE_CLIENT_ID") if env.get(k)]
    secret = next((k for k in _ENV_SECRET if env.get(k)), None)
    if len(have) == 2 and secret:
        env_ok, env_detail = True, f"A service principal ({env['AZURE_CLIENT_ID']}) with {secret}."
    elif have or secret:
        missing = [k for k in ("AZURE_TENANT_ID", "AZURE_CLIENT_ID") if k not in have] + ([] if secret else
                                                                                         ["AZURE_CLIENT_SECRET"])
        env_ok, env_detail = False, f"Incomplete: {', '.join(missing)} not set."
    else:
        env_ok, env_detail = False, "No AZURE_CLIENT_ID / AZURE_TENANT_ID / AZURE_CLIENT_SECRET in the environment."
    return [SignInOption("cli", "Azure CLI login", cli_ok, cli_detail),
            SignInOption("env", "Environment service principal", env_ok, env_detail),
            SignInOption("device_code", "Device code (sign in in a browser)", True,
                         "Shows a code here; open the link on any device and enter it."),
            SignInOption("managed_identity", "Managed identity (when this runs in Azure)", False,
                         "Only inside an Azure VM, container or App Service.")]


def no_sign_in_reason(options: Iterable[SignInOption]) -> str | None:
    """Why nothing signs in without help (None when the CLI or the environment is ready)."""
    options = list(options)
    if any(o.available for o in options if o.kind in ("cli", "env")):
        return None
    return " ".join(o.detail for o in options if o.kind in ("cli", "env"))


class SignInFailed(Exception):
    """Signing in did not work: the message says why and what to do."""


def sign_in(cloud: str, kind: str, *, prompt: Callable[[str, str, Any], None] | None = None) -> Session:
    """A Session on `cloud` with the chosen credential, proven by reading who is signed in.

    `prompt(verification_uri, user_code, expires_on)` shows the device code (called from this thread).
    """
    from .azure.clients import make_credential
    from .azure.profiles import profile_for
    from .session import Session
    try:
        profile = profile_for(cloud)
    except ValueError as err:
        raise SignInFailed(str(err)) from None
    session = Session(profile, make_credential(profile, kind, prompt_callback=prompt))
    try:
        session.operator  # noqa: B018 - reading the token is the proof
    except Exception as exc:  # noqa: BLE001 - any credential failure is explained the same way
        from .azure.signin import Attempt, diagnose  # its real cause (no network, expired, tenant...) and the fix
        word = {"device_code": "device", "managed_identity": "msi", "auto": "default"}.get(kind, kind)
        problem = diagnose(exc, Attempt(word, profile.authority_host, profile.arm_url, profile.az_cloud_name,
                                        rerun="sign in again"))
        raise SignInFailed(f"{problem.explanation[:1].upper()}{problem.explanation[1:]} Fix: {problem.fix}") from None
    return session
