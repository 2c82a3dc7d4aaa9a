"""Where this run of the wizard works: the sandbox (`--sandbox`, or "Try the sandbox") or Azure.

Everything the screens show or offer differently for the two comes from here, as data, so that no screen
branches on "is this the sandbox". Once signed in, the session's cloud profile names the cloud
(`CloudProfile.display_name`); a Place says what to show before that, and what the app offers at all.
"""

from __future__ import annotations

from dataclasses import dataclass

from wizard.azure.display import SANDBOX_DISPLAY_NAME, SANDBOX_DISPLAY_NOTE


@dataclass(frozen=True)
class Place:
    cloud: str
    """The cloud a new setup is made on until a session says which: "sandbox", or "public" (sign-in may choose
    another)."""
    label: str
    """The welcome screen's sub-title."""
    offers_sign_in_choice: bool
    """Azure: the person picks the cloud and the way to sign in (and the welcome screen checks which ways are
    ready). The sandbox opens its session at start, as its operator, asking nothing."""
    offers_sandbox: bool
    """"Try the sandbox" (a button and the S key) on the welcome screen."""
    connecting: str
    """The welcome screen's connection line before a session is open."""
    signing_in: str
    """The sign-in screen's status line before a session is open ("" when it waits for the person)."""
    sign_in_lead: str
    """The sign-in screen's text in place of the choices, when there are none to make."""
    no_setups: str
    """The welcome screen's line when there is no setup yet."""
    holds_sandbox_setups: bool
    """Which setups can be resumed here: a setup is resumed where it was made."""
    made_elsewhere: str
    """Why a setup made in the other place cannot be resumed here ({cloud}: where it was made)."""

    def made_here(self, cloud: str) -> bool:
        return (cloud == SANDBOX.cloud) == self.holds_sandbox_setups


SANDBOX = Place(
    cloud="sandbox", label="sandbox", offers_sign_in_choice=False, offers_sandbox=False,
    connecting=f"Starting {SANDBOX_DISPLAY_NAME} ({SANDBOX_DISPLAY_NOTE})…", signing_in="Starting the sandbox…",
    sign_in_lead="Cloud: the sandbox, a local simulated Azure. You are signed in as its operator, who is Owner of "
                 "the demo subscriptions.",
    no_setups="No setups yet: press N to start one.", holds_sandbox_setups=True,
    made_elsewhere="This setup was made on Azure ({cloud}): start mi-wizard without --sandbox to resume it.")

AZURE = Place(
    cloud="public", label="Azure", offers_sign_in_choice=True, offers_sandbox=True,
    connecting="Checking how you can sign in to Azure…", signing_in="", sign_in_lead="",
    no_setups="No setups yet: start a new one, or try the sandbox first.", holds_sandbox_setups=False,
    made_elsewhere="This setup was made on the sandbox: start mi-wizard --sandbox to resume it.")

PLACES = {True: SANDBOX, False: AZURE}
"""By the CLI's --sandbox flag."""
