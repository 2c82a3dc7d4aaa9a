"""The composition root shared by the CLI and the UI: cloud profile + credential + clients (+ a sandbox)."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from .azure.profiles import CloudProfile, load_descriptor, profile_for, sandbox_profile

if TYPE_CHECKING:  # imported when first used: the UI's first screen never waits for the SDK
    from azure.core.credentials import TokenCredential

    from .azure.clients import AzureClients
    from .azure.principal import SignedInPrincipal
    from .azure.signin import Attempt, SignInProblem
    from .sandbox import Sandbox

GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


class SessionError(Exception):
    """Cannot connect: says why and what to do."""


class ConnectionConflict(SessionError):
    """The options contradict the setup (its cloud, or where it was made): bad input, exit 2."""


class SignInFailed(SessionError):
    """Signing in failed: `problem` names the real cause and the fix."""

    def __init__(self, problem: SignInProblem):
        super().__init__(str(problem))
        self.problem = problem
        self.hint = ""


@dataclass
class Session:
    profile: CloudProfile
    credential: TokenCredential
    sandbox: Sandbox | None = None
    _operator: SignedInPrincipal | None = field(default=None, repr=False)
    _clients: AzureClients | None = field(default=None, repr=False)
    attempt: Attempt | None = field(default=None, repr=False)
    """How it signs in (the way, the endpoints, the tenant): what `prove` explains a failure with."""
    auth_reason: str = ""
    place: str = ""
    """Where it signs in, as said to the person: "the sandbox", "usgov (spec x.toml)"."""
    failure_hint: str = ""
    """A line added to a sign-in failure (e.g. the spec names a sandbox subscription)."""

    def prove(self) -> SignedInPrincipal:
        """Sign in now (one token for Resource Manager). A failure is raised as SignInFailed naming its real
        cause and the one command that fixes it."""
        try:
            return self.operator
        except Exception as exc:  # noqa: BLE001 - any credential failure is diagnosed the same way
            from .azure.signin import Attempt, diagnose
            attempt = self.attempt or Attempt("default", self.profile.authority_host, self.profile.arm_url)
            raise SignInFailed(diagnose(exc, attempt)) from None

    @property
    def clients(self) -> AzureClients:
        if self._clients is None:
            from .azure.clients import AzureClients
            self._clients = AzureClients(self.profile, self.credential)
        return self._clients

    def for_subscription(self, subscription_id: str) -> AzureClients:
        return self.clients.for_subscription(subscription_id)

    @property
    def operator(self) -> SignedInPrincipal:
        if self._operator is None:
            from .azure.principal import signed_in_principal
            self._operator = signed_in_principal(self.credential, self.profile.arm_scope)
        return self._operator

    def resolve_subscription(self, text: str) -> str:
        """A subscription id, or the id of the subscription with this display name."""
        if GUID.match(text or ""):
            return text
        subs = list(self.clients.subscriptions.subscriptions.list())
        for sub in subs:
            if sub.display_name.lower() == (text or "").lower():
                found: str = sub.subscription_id
                return found
        names = ", ".join(f"{s.display_name} ({s.subscription_id})" for s in subs) or "none"
        raise SessionError(f"No subscription named {text!r} is visible to you. Visible: {names}.")

    def close(self) -> None:
        if self.sandbox is not None:
            self.sandbox.stop()
            self.sandbox = None


def open_session(*, cloud: str = "public", sandbox: bool = False, sandbox_descriptor: str | Path | None = None,
                 sandbox_reset: bool = False, sandbox_dir: Path | None = None, credential_kind: str = "auto",
                 operator: str = "operator", auth: str | None = None, tenant: str | None = None,
                 prompt: Callable[..., None] | None = None) -> Session:
    """A session on the sandbox (embedded, or a running one's descriptor) or on `cloud`.

    `auth` (--auth cli|env|device|msi|default; None: chosen, see signin.choose_auth) and `tenant` (--tenant) pick
    how to sign in; the UI passes `credential_kind` instead. Nothing is asked of Azure here: `Session.prove()`
    signs in."""
    from .azure.clients import make_credential
    from .azure.signin import Attempt, choose_auth
    if auth is None and credential_kind not in ("auto", ""):
        auth = {"device_code": "device", "managed_identity": "msi"}.get(credential_kind, credential_kind)
    kind, why = choose_auth(auth, sandbox=bool(sandbox or sandbox_descriptor))
    if tenant and kind in ("env", "msi"):
        raise SessionError(f"--tenant does not apply to --auth {kind}: " + (
            "the service principal's tenant is AZURE_TENANT_ID; set that instead." if kind == "env" else
            "a managed identity signs in to its own tenant; drop --tenant."))
    running = None
    descriptor: dict[str, object] = {}
    if sandbox_descriptor:
        try:
            descriptor = load_descriptor(sandbox_descriptor)
            profile = sandbox_profile(descriptor)
        except ValueError as err:
            raise SessionError(str(err)) from None
    elif sandbox:
        from .sandbox import Sandbox
        from .sandbox.files import NotASandboxDir
        from .sandbox.serve import default_data_dir
        try:
            running = Sandbox(sandbox_dir or default_data_dir(), seed="demo", reset=sandbox_reset).start()
        except NotASandboxDir as err:  # a data dir that holds someone's files: say so, never touch them
            raise SessionError(str(err)) from None
        profile = sandbox_profile(running.descriptor(operator))
    else:
        try:
            profile = profile_for(cloud)
        except ValueError as err:
            raise SessionError(str(err)) from None
    attempt = Attempt(kind=kind, authority=profile.authority_host, arm_url=profile.arm_url,
                      az_cloud=profile.az_cloud_name, tenant=tenant, sandbox=profile.is_sandbox,
                      descriptor=str(sandbox_descriptor) if sandbox_descriptor else None,
                      data_dir=str(descriptor.get("data_dir") or "") or None)
    session = Session(profile, make_credential(profile, kind, tenant=tenant, prompt_callback=prompt or _device_prompt),
                      sandbox=running)
    session.attempt, session.auth_reason = attempt, why
    return session


def _device_prompt(url: str, code: str, expires: object = None) -> None:
    """Headless device code: the prompt goes to stderr (stdout keeps the command's result, --json's included)."""
    import sys
    sys.stderr.write(f"To sign in, open {url} and enter the code {code} (it expires in 15 minutes).\n")
    sys.stderr.flush()
