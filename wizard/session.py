"""The composition root shared by the CLI and the UI: cloud profile + credential + clients (+ a sandbox)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from .azure.profiles import CloudProfile, load_descriptor, profile_for, sandbox_profile

if TYPE_CHECKING:  # imported when first used: the UI's first screen never waits for the SDK
    from azure.core.credentials import TokenCredential

    from .azure.clients import AzureClients
    from .azure.principal import SignedInPrincipal
    from .sandbox import Sandbox

GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


class SessionError(Exception):
    """Cannot connect: says why and what to do."""


@dataclass
class Session:
    profile: CloudProfile
    credential: TokenCredential
    sandbox: Sandbox | None = None
    _operator: SignedInPrincipal | None = field(default=None, repr=False)
    _clients: AzureClients | None = field(default=None, repr=False)

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
                 operator: str = "operator") -> Session:
    from .azure.clients import make_credential
    if sandbox_descriptor:
        try:
            profile = sandbox_profile(load_descriptor(sandbox_descriptor))
        except ValueError as err:
            raise SessionError(str(err)) from None
        return Session(profile, make_credential(profile))
    if sandbox:
        from .sandbox import Sandbox
        from .sandbox.files import NotASandboxDir
        from .sandbox.serve import default_data_dir
        try:
            running = Sandbox(sandbox_dir or default_data_dir(), seed="demo", reset=sandbox_reset).start()
        except NotASandboxDir as err:  # a data dir that holds someone's files: say so, never touch them
            raise SessionError(str(err)) from None
        profile = sandbox_profile(running.descriptor(operator))
        return Session(profile, make_credential(profile), sandbox=running)
    try:
        profile = profile_for(cloud)
    except ValueError as err:
        raise SessionError(str(err)) from None
    return Session(profile, make_credential(profile, credential_kind))
