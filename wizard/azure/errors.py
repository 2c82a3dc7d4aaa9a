"""Azure errors as a person should see them: the code, a plain explanation, and the fix."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass
class Explained:
    code: str
    message: str
    explanation: str
    fix: str
    status: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "explanation": self.explanation, "fix": self.fix}

    def __str__(self) -> str:
        return f"{self.code}: {self.explanation} Fix: {self.fix}"


INPUT_ERRORS = frozenset({"SpecError", "SecretSourceError", "StateError", "StateConflict", "StateLocked",
                          "StateNotFound", "SessionError", "StalePlan", "SignInFailed", "ConnectionConflict"})
"""mi-wizard's refusals of bad input (their messages say what is wrong and the fix): never called a bug."""

# code -> (plain explanation, fix)
KNOWN: dict[str, tuple[str, str]] = {
    "AuthorizationFailed": (
        "The signed-in account is not allowed to do this at this scope.",
        "Ask an Owner or User Access Administrator of the subscription or resource group for the missing role, "
        "or sign in as someone who has it."),
    "PrincipalNotFound": (
        "The directory does not know the identity yet: a new identity takes a while to replicate.",
        "Wait a minute and resume; mi-wizard sets principalType so this normally clears by itself."),
    "RoleAssignmentExists": (
        "The same role is already assigned to this identity at this scope.",
        "Nothing to do: the grant is in place."),
    "RoleAssignmentUpdateNotPermitted": (
        "A role assignment with this name exists for another identity or scope (often after an identity was "
        "deleted and recreated with the same name).",
        "Delete the stale role assignment shown in the message, then resume."),
    "VaultAlreadyExists": (
        "Key Vault names are global across all of Azure, and this one belongs to someone else.",
        "Choose another vault name (mi-wizard suggests some)."),
    "ConflictError": (
        "A deleted vault with this name is kept in soft-delete for its retention period.",
        "Recover it (keeps its secrets), choose another name, or purge it for good if you own it and it has no "
        "purge protection."),
    "SubscriptionNotFound": ("The subscription does not exist or this account cannot see it.",
                             "Check the subscription id, and that you signed in to the right tenant."),
    "ResourceGroupNotFound": ("The resource group does not exist.", "Create it, or pick an existing one."),
    "ForbiddenByRbac": (
        "The vault uses Azure RBAC and the caller has no role that allows this data action (or the grant has not "
        "taken effect yet: Azure documents up to 10 minutes).",
        "Grant Key Vault Secrets User at secret or vault scope, then wait for it to take effect."),
    "AccessDenied": (
        "The vault uses access policies and the caller has no policy that allows this.",
        "Add an access policy for the identity with secret permission 'get'."),
    "SecretDisabled": ("The secret is disabled, so nobody can read it.", "Enable the secret (or its version)."),
    "SecretNotFound": ("The vault has no secret with this name.", "Create the secret, or fix the name."),
    "MissingSubscriptionRegistration": (
        "The subscription is not registered for this resource provider.",
        "Register it: az provider register --namespace <namespace> (mi-wizard's SDK does this automatically)."),
    "TooManyRequests": ("Azure is throttling requests.", "Wait and resume; mi-wizard already retried."),
    "InvalidResourceGroupLocation": ("The resource group already exists in another location.",
                                     "Use the group's existing location, or another group name."),
    "InaccessibleImage": ("Azure Container Instances cannot pull the image.",
                          "Check the image name and, for a private registry, its credentials."),
    "ExpiredAuthenticationToken": ("The sign-in has expired.", "Sign in again (az login) and resume."),
    "InvalidAuthenticationTokenAudience": ("The token was issued for another service or cloud.",
                                           "Check the --cloud option matches your account's cloud."),
}


def explain(exc: BaseException) -> Explained:
    """Turn any SDK exception into code + plain explanation + fix."""
    status = getattr(getattr(exc, "response", None), "status_code", None) or getattr(exc, "status_code", None)
    code, message = "", str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    error = getattr(exc, "error", None)
    if error is not None:
        code = getattr(error, "code", "") or ""
        message = getattr(error, "message", "") or message
        inner = getattr(error, "innererror", None) or (getattr(error, "additional_info", None) and None)
        inner_code = inner.get("code") if isinstance(inner, dict) else None
        if inner_code in KNOWN:
            code = inner_code
    if code in ("Forbidden", "") and "ForbiddenByRbac" in str(exc):
        code = "ForbiddenByRbac"
    if type(exc).__name__ in INPUT_ERRORS and type(exc).__module__.startswith("wizard."):
        # Our own refusal of an input: its message already says what is wrong and how to fix it.
        return Explained(code=type(exc).__name__, message=str(exc), explanation=str(exc), fix="", status=None)
    from_azure = error is not None or type(exc).__module__.startswith(("azure.", "msal"))
    if not code and not from_azure and not isinstance(exc, OSError):
        # Not Azure's answer at all: say so rather than blame Azure.
        return Explained(code=type(exc).__name__, message=message,
                         explanation=f"mi-wizard hit an unexpected error: {message}",
                         fix="This is a bug in mi-wizard: please report it with the state file (it holds no "
                             "secrets). Resuming may get past it.", status=status)
    if not code:
        name = type(exc).__name__
        if name == "ClientAuthenticationError":
            code = "AuthenticationFailed"
        elif name in ("ServiceRequestError", "ServiceResponseError"):
            code = "NetworkError"
        elif name == "CredentialUnavailableError":
            code = "NotSignedIn"
        else:
            code = name
    if code in KNOWN:
        explanation, fix = KNOWN[code]
    elif code == "AuthenticationFailed":
        explanation, fix = "Signing in failed.", "Run `az login` (or check the service principal's secret) and retry."
    elif code == "NetworkError":
        explanation, fix = ("Azure could not be reached.",
                            "Check the network (and a proxy or TLS inspection); then resume.")
    elif code == "NotSignedIn":
        explanation, fix = "No Azure sign-in was found.", "Run `az login`, or try the sandbox with --sandbox."
    else:
        explanation, fix = "Azure refused the request.", "Read the message above; fix the cause and resume."
    return Explained(code=code, message=message, explanation=explanation, fix=fix, status=status)


def error_code(exc: BaseException) -> str:
    return explain(exc).code
