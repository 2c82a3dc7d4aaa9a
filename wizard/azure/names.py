"""Azure naming rules, as pure functions (no SDK, no UI).

Each ``validate_*`` function returns ``None`` when the name is valid, otherwise one short message that says
the rule and what is wrong with this name, so the user knows how to fix it. Rules come from the
resource-name-rules doc and the REST specs (see AZURE_FACTS.md, sections 2 and B4/B5).
"""

from __future__ import annotations

import random
import re

_MAX_SHOWN = 40
SECRET_VALUE_MAX_BYTES = 25 * 1024
"""Key Vault rejects secret values over 25 KB (25,600 bytes, UTF-8)."""


def _show(name: str) -> str:
    """The name quoted for a message, shortened when long (messages must stay one line)."""
    shown = name if len(name) <= _MAX_SHOWN else name[: _MAX_SHOWN - 1] + "…"
    return repr(shown)


def _length(name: str, low: int, high: int) -> str | None:
    if not name:
        return "the name is empty"
    if len(name) < low:
        return f"{_show(name)} is only {len(name)} character{'s' if len(name) != 1 else ''}"
    if len(name) > high:
        return f"{_show(name)} is {len(name)} characters long"
    return None


def _bad_chars(name: str, allowed: re.Pattern[str]) -> str | None:
    bad = sorted({c for c in name if not allowed.fullmatch(c)}, key=name.index)
    if not bad:
        return None
    listed = ", ".join(repr(c) for c in bad[:5])
    return f"{_show(name)} contains {listed}"


def _message(rule: str, problem: str | None) -> str | None:
    return None if problem is None else f"{rule}; {problem}."


# -- resource groups and identities -------------------------------------------------------------------------

_RG_CHAR = re.compile(r"[-\w.()]")
_RG_RULE = ("Resource group names are 1-90 characters: letters, digits, underscores, hyphens, periods and "
            "parentheses, not ending with a period")


def validate_resource_group_name(name: str) -> str | None:
    problem = _length(name, 1, 90) or _bad_chars(name, _RG_CHAR)
    if problem is None and name.endswith("."):
        problem = f"{_show(name)} ends with a period"
    return _message(_RG_RULE, problem)


_ID_CHAR = re.compile(r"[A-Za-z0-9_-]")
_ID_RULE = ("Identity names are 3-128 characters: letters, digits, hyphens and underscores, starting with a "
            "letter or digit")


def validate_identity_name(name: str) -> str | None:
    problem = _length(name, 3, 128) or _bad_chars(name, _ID_CHAR)
    if problem is None and not name[0].isalnum():
        problem = f"{_show(name)} starts with {name[0]!r}"
    return _message(_ID_RULE, problem)


# -- Key Vault ----------------------------------------------------------------------------------------------

_ALNUM_HYPHEN = re.compile(r"[A-Za-z0-9-]")
_VAULT_RULE = ("Vault names are 3-24 characters: letters, digits and hyphens, starting with a letter and "
               "ending with a letter or digit, with no two hyphens in a row")


def validate_vault_name(name: str) -> str | None:
    problem = _length(name, 3, 24) or _bad_chars(name, _ALNUM_HYPHEN)
    if problem is None:
        if not name[0].isalpha():
            problem = f"{_show(name)} starts with {name[0]!r}"
        elif name.endswith("-"):
            problem = f"{_show(name)} ends with a hyphen"
        elif "--" in name:
            problem = f"{_show(name)} has two hyphens in a row"
    return _message(_VAULT_RULE, problem)


_SECRET_RULE = "Secret names are 1-127 characters: letters, digits and hyphens"


def validate_secret_name(name: str) -> str | None:
    problem = _length(name, 1, 127) or _bad_chars(name, _ALNUM_HYPHEN)
    if problem and "_" in name and len(name) <= 127:
        problem += " (use hyphens instead of underscores)"
    return _message(_SECRET_RULE, problem)


def secret_value_problem(value: str, *, fix: str = "type or paste the value to store") -> str | None:
    """What is wrong with a secret value, never quoting the value itself (nor any part of it).

    `fix` says how to give another value where it came from (a prompt, an environment variable, a file).
    """
    if not value:
        return f"The secret value is empty; {fix}."
    if not value.strip():
        # Only spaces, tabs or newlines: nearly always an empty copy-paste or a variable holding a newline.
        return f"The secret value is blank (only spaces, tabs or newlines); {fix}."
    try:
        size = len(value.encode("utf-8"))
    except UnicodeEncodeError:  # lone surrogates, e.g. an environment variable holding non-UTF-8 bytes
        return ("The secret value is not valid UTF-8 text, and Key Vault stores secrets as text; give it as UTF-8, "
                "or base64-encode binary data first (base64 -w0 FILE).")
    if size > SECRET_VALUE_MAX_BYTES:
        return (f"Key Vault secret values are at most 25 KB (25,600 bytes in UTF-8); this one is {size:,} bytes. "
                "Store a smaller value, or keep large data in a storage account and put its location in the secret.")
    return None


# -- targets ------------------------------------------------------------------------------------------------

_LOWER_DIGIT_HYPHEN = re.compile(r"[a-z0-9-]")
_CG_RULE = ("Container group names are 1-63 characters: lower-case letters, digits and hyphens, not starting "
            "or ending with a hyphen, with no two hyphens in a row")


def validate_container_group_name(name: str) -> str | None:
    problem = _length(name, 1, 63) or _bad_chars(name, _LOWER_DIGIT_HYPHEN)
    if problem is None:
        if name.startswith("-"):
            problem = f"{_show(name)} starts with a hyphen"
        elif name.endswith("-"):
            problem = f"{_show(name)} ends with a hyphen"
        elif "--" in name:
            problem = f"{_show(name)} has two hyphens in a row"
    elif name and name.lower() != name and validate_container_group_name(name.lower()) is None:
        problem += f" (try {_show(name.lower())})"
    return _message(_CG_RULE, problem)


_LOWER_DIGIT = re.compile(r"[a-z0-9]")
_BATCH_RULE = "Batch account names are 3-24 characters: lower-case letters and digits only"


def validate_batch_account_name(name: str) -> str | None:
    problem = _length(name, 3, 24) or _bad_chars(name, _LOWER_DIGIT)
    if problem and name:
        fixed = re.sub(r"[^a-z0-9]", "", name.lower())[:24]
        if fixed != name and len(fixed) >= 3:
            problem += f" (try {_show(fixed)})"
    return _message(_BATCH_RULE, problem)


_POOL_CHAR = re.compile(r"[A-Za-z0-9_-]")
_POOL_RULE = "Batch pool names are 1-64 characters: letters, digits, underscores and hyphens"


def validate_pool_name(name: str) -> str | None:
    return _message(_POOL_RULE, _length(name, 1, 64) or _bad_chars(name, _POOL_CHAR))


_FIC_RULE = ("Federated credential names are 3-120 characters: letters, digits, hyphens and underscores, "
             "starting with a letter or digit")


def validate_federated_credential_name(name: str) -> str | None:
    problem = _length(name, 3, 120) or _bad_chars(name, _ID_CHAR)
    if problem is None and not name[0].isalnum():
        problem = f"{_show(name)} starts with {name[0]!r}"
    return _message(_FIC_RULE, problem)


def validate_location(name: str) -> str | None:
    if not name:
        return "Choose a location (an Azure region's short name, e.g. 'westeurope')."
    if re.fullmatch(r"[a-z0-9]+", name):
        return None
    short = re.sub(r"[^a-z0-9]", "", name.lower())
    hint = f"; for {_show(name)} that is {_show(short)}" if short else ""
    return f"Use the region's short name, lower-case letters and digits only (e.g. 'westeurope'){hint}."


# -- suggestions --------------------------------------------------------------------------------------------

_SUFFIX_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"
_SUFFIX_LEN = 4


def _vault_stem(base: str) -> str:
    stem = re.sub(r"[^a-z0-9-]", "-", base.lower())
    stem = re.sub(r"-{2,}", "-", stem).strip("-")
    stem = stem.lstrip("0123456789-")
    return stem or "kv"


def suggest_vault_names(base: str, taken: set[str] | None = None, count: int = 3, *,
                        rng: random.Random | None = None) -> list[str]:
    """Valid vault names close to `base` (which may itself be invalid), none of them in `taken`.

    Vault names are global, so each suggestion is the cleaned-up base plus a short random suffix
    ("kv-prefect-x7k2"), cut to fit 24 characters. Comparison with `taken` ignores case (vault names are
    DNS names). Pass `rng` for repeatable suggestions.
    """
    rng = rng or random.SystemRandom()
    avoid = {t.lower() for t in (taken or set())} | {base.lower()}
    stem = _vault_stem(base)[: 24 - _SUFFIX_LEN - 1].rstrip("-")
    out: list[str] = []
    for _ in range(count * 50):
        if len(out) >= count:
            break
        suffix = "".join(rng.choice(_SUFFIX_ALPHABET) for _ in range(_SUFFIX_LEN))
        name = f"{stem}-{suffix}"
        if name not in avoid and name not in out and validate_vault_name(name) is None:
            out.append(name)
    return out
