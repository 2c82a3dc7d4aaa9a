"""Signing in, as a person sees it: which way is used and why, what the Azure CLI is signed in to, and — when
signing in fails — the real cause and the one command that fixes it.

The SDK's own words for a failure are long (DefaultAzureCredential lists every credential it tried, ~15 lines)
and often say `az login` when the network is down. Here the whole failure (its text and its causes) is read once
and named: no network / DNS, sandbox not running, not signed in, expired sign-in, wrong tenant, bad secret.
"""

from __future__ import annotations

import configparser
import json
import logging
import os
import re
import shlex
import shutil
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from .clouds import by_az_name

AUTH_CHOICES = ("cli", "env", "device", "msi", "default")
AUTH_WORDS = {"cli": "the Azure CLI's login (az)", "env": "the environment's service principal (AZURE_CLIENT_ID...)",
              "device": "a device code", "msi": "this machine's managed identity",
              "default": "the DefaultAzureCredential chain (environment, workload identity, managed identity, az, ...)",
              "client_secret": "the sandbox's operator"}


def quiet_identity_logs() -> None:
    """azure.identity logs every failed credential of a chain as a warning, which Python prints on stderr when
    nothing is configured: the person would read ~15 lines before the cause. The failure is summarised instead
    (`diagnose`); --debug shows HTTP calls, not these."""
    for name in ("azure.identity", "msal"):
        logger = logging.getLogger(name)
        logger.addHandler(logging.NullHandler())
        logger.propagate = False


# -- the Azure CLI on this machine ----------------------------------------------------------------------------

@dataclass(frozen=True)
class AzLogin:
    installed: bool
    signed_in: bool
    """Signed in on its active cloud (an account of that cloud in azureProfile.json)."""
    who: str
    active_cloud: str
    """The CLI's active cloud (`az cloud show`), e.g. AzureCloud; "" when az is not installed."""


def az_login(env: dict[str, str] | None = None) -> AzLogin:
    """What the Azure CLI is signed in to, read from its files (AZURE_CONFIG_DIR or ~/.azure): running az takes
    seconds, reading its profile takes none."""
    env = dict(os.environ if env is None else env)
    if shutil.which("az", path=env.get("PATH")) is None:
        return AzLogin(False, False, "", "")
    config = Path(env.get("AZURE_CONFIG_DIR") or Path(env.get("HOME") or Path.home()) / ".azure")
    parser = configparser.ConfigParser()
    try:
        parser.read(config / "config", encoding="utf-8")
    except (configparser.Error, OSError, UnicodeDecodeError):
        pass
    active = parser.get("cloud", "name", fallback="AzureCloud")
    try:
        profile = json.loads((config / "azureProfile.json").read_text(encoding="utf-8-sig"))
    except (OSError, ValueError):
        return AzLogin(True, False, "", active)
    accounts = [s for s in profile.get("subscriptions", []) if isinstance(s, dict)
                and str(s.get("environmentName", "AzureCloud")).lower() == active.lower()]
    if not accounts:
        return AzLogin(True, False, "", active)
    default = next((s for s in accounts if s.get("isDefault")), accounts[0])
    return AzLogin(True, True, str((default.get("user") or {}).get("name", "someone")), active)


def choose_auth(requested: str | None, *, sandbox: bool, env: dict[str, str] | None = None) -> tuple[str, str]:
    """(the way to sign in, why it was chosen). No --auth: the sandbox's operator on the sandbox; elsewhere the
    Azure CLI when it is signed in (a stray AZURE_CLIENT_ID or a VM's managed identity must not win over the
    person's own `az login`), else the DefaultAzureCredential chain."""
    if requested:
        return requested, "--auth " + requested
    if sandbox:
        return "client_secret", "the sandbox"
    login = az_login(env)
    if login.signed_in:
        return "cli", f"az is signed in as {login.who}; --auth chooses another way"
    why = "az is not installed" if not login.installed else "az is not signed in"
    return "default", f"{why}; --auth chooses a way"


def az_cloud_note(az_cloud_name: str, env: dict[str, str] | None = None) -> str:
    """A line when the Azure CLI's active cloud is not the setup's (az would sign in to the wrong cloud)."""
    login = az_login(env)
    if not login.installed or login.active_cloud.lower() == az_cloud_name.lower():
        return ""
    known = by_az_name(login.active_cloud)
    return (f"Note: az's active cloud is {login.active_cloud}"
            + (f" ({known.name})" if known else "") + f", not this setup's {az_cloud_name}. Switch with "
            f"`az cloud set --name {az_cloud_name}`, then `az login`.")


# -- why signing in failed ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class SignInProblem:
    cause: str
    """A short code: NoNetwork, SandboxNotRunning, NotSignedIn, LoginExpired, WrongTenant, BadSecret, ..."""
    explanation: str
    fix: str
    """The one command (or action) that fixes it."""

    def __str__(self) -> str:
        return f"cannot sign in: {self.explanation}\n  fix: {self.fix}"

    def to_dict(self) -> dict[str, str]:
        return {"code": self.cause, "explanation": self.explanation, "fix": self.fix}


@dataclass(frozen=True)
class Attempt:
    """What was tried: the way, the cloud's endpoints, the tenant asked for, and where a sandbox came from."""

    kind: str
    authority: str
    arm_url: str
    az_cloud: str = "AzureCloud"
    tenant: str | None = None
    sandbox: bool = False
    descriptor: str | None = None
    data_dir: str | None = None
    rerun: str = "run the same command again"


def failure_text(exc: BaseException) -> str:
    """The failure's message and those of its causes, once each."""
    seen: list[str] = []
    current: BaseException | None = exc
    while current is not None and len(seen) < 8:
        for text in (str(current), str(getattr(current, "message", "") or "")):
            if text and text not in seen:
                seen.append(text)
        inner = getattr(current, "inner_exception", None)
        current = inner if isinstance(inner, BaseException) else (current.__cause__ or current.__context__)
    return "\n".join(seen)


_DNS = re.compile(r"Failed to resolve '([^']+)'|Name or service not known|nodename nor servname|"
                  r"Temporary failure in name resolution|getaddrinfo failed|NameResolutionError", re.I)
_REFUSED = re.compile(r"Connection refused|ConnectionRefusedError|actively refused|Errno 111|WinError 10061", re.I)
_UNREACHABLE = re.compile(r"Network is unreachable|No route to host|timed out|ConnectTimeout|"
                          r"Max retries exceeded|Failed to establish a new connection|ServiceRequestError", re.I)
_HOST = re.compile(r"host='([^']+)', port=(\d+)")
_EXPIRED = ("AADSTS700082", "AADSTS50173", "AADSTS70043", "AADSTS700084", "refresh token has expired",
            "token is expired", "AADSTS50078", "AADSTS50076")
_TENANT = ("AADSTS90002", "AADSTS700016", "AADSTS50020", "AADSTS90072", "AADSTS50128", "AADSTS50059",
           "AADSTS900023", "invalid_tenant", "Tenant '", "Unable to get authority configuration")


def diagnose(exc: BaseException, attempt: Attempt) -> SignInProblem:
    """The real cause of a sign-in failure and the one command that fixes it."""
    text = failure_text(exc)
    host_match = _HOST.search(text)
    host = host_match.group(1) if host_match else urlsplit(attempt.authority).hostname or ""
    local = host in ("127.0.0.1", "localhost", "::1")
    if attempt.sandbox and (_REFUSED.search(text) or (local and _UNREACHABLE.search(text))):
        return _sandbox_stopped(attempt, host_match)
    if _DNS.search(text):
        return SignInProblem("NoNetwork", f"the name {host} cannot be resolved (DNS): this machine has no network, "
                             "or no DNS for Azure's sign-in endpoint.",
                             f"check the connection (e.g. `nslookup {host}`; behind a proxy set HTTPS_PROXY), then "
                             f"{attempt.rerun}.")
    if _REFUSED.search(text) or _UNREACHABLE.search(text):
        return SignInProblem("NoNetwork", f"{host} cannot be reached (the connection failed): no network, a "
                             "firewall, or a proxy this machine must use.",
                             f"check the connection (behind a proxy set HTTPS_PROXY), then {attempt.rerun}.")
    if any(code in text for code in _TENANT):
        return _wrong_tenant(attempt, text)
    if any(code.lower() in text.lower() for code in _EXPIRED):
        return SignInProblem("LoginExpired", "your sign-in has expired (or needs a fresh multi-factor sign-in).",
                             _login_command(attempt))
    if "AADSTS7000222" in text:
        return SignInProblem("SecretExpired", "the service principal's client secret has expired.",
                             "make a new one (`az ad sp credential reset --id CLIENT_ID`) and set "
                             "AZURE_CLIENT_SECRET to it.")
    if "AADSTS7000215" in text or "invalid_client" in text:
        return SignInProblem("BadSecret", "the client secret is wrong (the secret's value is needed, not its id).",
                             "set AZURE_CLIENT_SECRET to the secret's value" if attempt.kind == "env" else
                             "check the client id and secret you signed in with.")
    return _not_signed_in(attempt, text)


def _sandbox_stopped(attempt: Attempt, host_match: re.Match[str] | None) -> SignInProblem:
    where = f"{host_match.group(1)}:{host_match.group(2)}" if host_match else urlsplit(attempt.arm_url).netloc
    if attempt.descriptor:
        port = urlsplit(attempt.arm_url).port
        command = ["mi-wizard", "sandbox", "serve", *(["--data-dir", attempt.data_dir] if attempt.data_dir else []),
                   *(["--port", str(port)] if port else []), "--descriptor", attempt.descriptor]
        return SignInProblem("SandboxNotRunning", f"the sandbox of {attempt.descriptor} is not running (nothing "
                             f"answers at {where}).",
                             f"start it again on the same port: `{shlex.join(command)}` (or use the embedded "
                             "one: --sandbox instead of --sandbox-descriptor).")
    return SignInProblem("SandboxNotRunning", f"the sandbox is not running (nothing answers at {where}).",
                         f"start it again, then {attempt.rerun}.")


def _wrong_tenant(attempt: Attempt, text: str) -> SignInProblem:
    asked = f"tenant {attempt.tenant}" if attempt.tenant else "the tenant asked for"
    entra = re.search(r"(AADSTS\d+): ([^.]*\.)", text)
    said = f" Entra ID: {entra.group(1)}: {entra.group(2)}" if entra else ""
    if attempt.kind == "env" and not attempt.tenant:
        fix = "set AZURE_TENANT_ID to the tenant the service principal belongs to (its app registration's)."
    elif attempt.tenant:
        fix = ("drop --tenant (the sandbox has one tenant, its descriptor's)" if attempt.sandbox else
               "give the tenant your account is in: --tenant TENANT_ID (`az account list -o table` lists them), or "
               "`az login --tenant TENANT_ID`")
    else:
        fix = "pass --tenant TENANT_ID with the tenant that holds your subscription (`az account list -o table`)."
    return SignInProblem("WrongTenant", f"{asked} does not know this account (or does not exist in this "
                         f"cloud).{said}", fix)


def _login_command(attempt: Attempt) -> str:
    tenant = f" --tenant {attempt.tenant}" if attempt.tenant else ""
    if attempt.kind == "device":
        return f"run the same command again and enter the new code ({attempt.rerun})."
    if attempt.az_cloud not in ("AzureCloud",) and attempt.kind in ("cli", "default"):
        return f"`az cloud set --name {attempt.az_cloud} && az login{tenant}`, then {attempt.rerun}."
    return f"`az login{tenant}`, then {attempt.rerun}."


def _not_signed_in(attempt: Attempt, text: str) -> SignInProblem:
    login = _login_command(attempt)
    if attempt.kind == "cli":
        if "not found on path" in text or "not installed" in text:
            return SignInProblem("NoAzureCli", "the Azure CLI (az) is not installed here.",
                                 "install it (https://aka.ms/installazurecli), or sign in another way: --auth device.")
        return SignInProblem("NotSignedIn", "the Azure CLI is not signed in (to this cloud).", login)
    if attempt.kind == "env":
        return SignInProblem("NotSignedIn", "the environment has no complete service principal.",
                             "set AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET (or choose --auth cli).")
    if attempt.kind == "msi":
        return SignInProblem("NoManagedIdentity", "no managed identity answers here (this is not an Azure VM or "
                             "container with one).", "sign in another way: --auth cli (after `az login`).")
    if attempt.kind == "device":
        return SignInProblem("DeviceCodeFailed", f"the device code sign-in did not finish: {_first_line(text)}",
                             f"{attempt.rerun} and enter the code in time.")
    return SignInProblem("NotSignedIn", "no Azure sign-in was found on this machine (no az login, no service "
                         "principal in the environment, no managed identity).", login)


def _first_line(text: str) -> str:
    line = next((s for s in text.splitlines() if s.strip()), text)
    return line[:300]


def describe_kind(kind: str) -> str:
    return AUTH_WORDS.get(kind, kind)
