"""The spec: what the user chose, as shareable TOML. It never holds a secret value.

`mi-wizard apply spec.toml` replays it headless; the wizard screens build the same object.
"""

from __future__ import annotations

import os
import sys
import tempfile
from dataclasses import asdict, dataclass, field, fields, is_dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from .spec_reproduce import ReproduceSpec

# Re-exported: the spec's workload parts are part of its API.
from .spec_workloads import (  # noqa: F401
    GITHUB_ISSUER,
    MAX_FEDERATED_CREDENTIALS,
    TOKEN_EXCHANGE_AUDIENCE,
    ExtraGrantSpec,
)
from .targets import TargetSpec, kinds, target_kind
from .targets.aci import AciTarget

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

_D = TypeVar("_D", bound="DataclassInstance")

ACCESS_MODELS = ("rbac", "access_policy")
GRANT_SCOPES = ("secret", "vault")
SOFT_DELETED_CHOICES = ("recover", "purge", "stop")
SECRET_WRITES = ("arm", "data_plane")


class SpecError(ValueError):
    """A spec that cannot be used, with what is wrong and how to fix it."""


@dataclass
class IdentitySpec:
    name: str = ""
    resource_group: str = ""
    """Defaults to the setup's resource group."""
    existing: bool = False
    """True: the identity must exist already (e.g. a platform's own identity); mi-wizard never creates it."""


@dataclass
class VaultSpec:
    name: str = ""
    """Empty: the setup has no vault, secret or read grant (e.g. GitHub OIDC only)."""
    resource_group: str = ""
    access_model: str = "rbac"
    """rbac (least privilege, the default for new vaults) or access_policy (older vaults)."""
    sku: str = "standard"
    purge_protection: bool = False
    if_soft_deleted: str = "recover"
    """What to do when the name is held by a soft-deleted vault: recover (default), purge, or stop."""
    confirm_purge: bool = False
    """Purging destroys the old vault's secrets for good; a spec must say so explicitly."""
    secret_write: str = "arm"
    """arm (default): write the secret through ARM (Microsoft.KeyVault/vaults/secrets/write, which Owner and
    Contributor hold): no data-plane role, no propagation wait, same on RBAC and access-policy vaults.
    data_plane: through the vault's own endpoint, with a temporary grant for you on the one secret."""


@dataclass
class SecretSpec:
    name: str = ""
    new_version: bool = False
    """Write a new version even when the secret exists (otherwise an existing secret is kept)."""
    content_type: str = ""
    if_soft_deleted: str = "recover"
    """When the name is held by a soft-deleted secret: recover (default; a given value becomes a new version), purge
    (destroy it and store the value anew; impossible in a purge-protected vault), or stop."""


@dataclass
class GrantSpec:
    scope: str = "secret"
    """secret (least privilege: this one secret) or vault (every secret in the vault)."""
    allow_list: bool = False
    """Access-policy vaults only: also grant `list` (get alone is enough to read a known secret)."""


@dataclass
class VerifySpec:
    probe: bool = True
    """Run the live probe: the target itself, with the identity, reads the secret (never printing it)."""
    probe_image: str = ""
    wait_limit_s: float = 900.0
    """How long to wait for a new grant to take effect before giving up (Azure: up to 10 minutes)."""


@dataclass
class Spec:
    name: str = ""
    cloud: str = "public"
    subscription: str = ""
    """A subscription id, or its display name."""
    resource_group: str = ""
    location: str = "eastus"
    identity: IdentitySpec = field(default_factory=IdentitySpec)
    vault: VaultSpec = field(default_factory=VaultSpec)
    secret: SecretSpec = field(default_factory=SecretSpec)
    grant: GrantSpec = field(default_factory=GrantSpec)
    target: TargetSpec = field(default_factory=AciTarget, metadata={"target": True})
    """The kind's own table: `[target] kind = "aci"|"batch"|"aks"|"github"|"platform"|"none"` and that kind's keys
    (wizard/targets/)."""
    verify: VerifySpec = field(default_factory=VerifySpec)
    grant_extra: list[ExtraGrantSpec] = field(default_factory=list, metadata={"item": ExtraGrantSpec})
    reproduce: ReproduceSpec = field(default_factory=ReproduceSpec)
    """Links rebuilt broken on the sandbox only (wizard/spec_reproduce.py); empty: nothing broken."""

    @property
    def uses_vault(self) -> bool:
        """False for a setup without a vault (vault.name = ""): no vault, secret, read grant or probe."""
        return bool(self.vault.name)

    def extra_grants(self) -> list[ExtraGrantSpec]:
        """The extra grants, plus those the target's own settings ask for (GitHub: the runner's role)."""
        return list(self.grant_extra) + target_kind(self.target.kind).implied_grants(self)

    # Resource groups of the parts default to the setup's group.
    @property
    def identity_group(self) -> str:
        return self.identity.resource_group or self.resource_group

    @property
    def vault_group(self) -> str:
        return self.vault.resource_group or self.resource_group

    @property
    def target_group(self) -> str:
        return self.target.resource_group or self.resource_group

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        if not self.reproduce.any():
            del data["reproduce"]  # nothing broken: said by leaving it out (specs and states stay as before)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, source: str = "spec") -> Spec:
        from .spec_legacy import migrate
        return _build(cls, migrate(data, source) if isinstance(data, dict) else data, source)

    def validate(self) -> list[str]:
        """Every problem with the spec, each saying what is wrong and how to fix it."""
        from .azure import names
        problems: list[str] = []

        def check(label: str, message: str | None) -> None:
            if message:
                problems.append(f"{label}: {message}")

        from .spec_values import setup_name_problem, value_problems
        check("name", setup_name_problem(self.name))
        from .azure.clouds import cloud_problem
        check("cloud", cloud_problem(self.cloud))
        if not self.subscription:
            problems.append("subscription: set the subscription id or display name.")
        check("resource_group", names.validate_resource_group_name(self.resource_group))
        check("location", names.validate_location(self.location))
        check("identity.name", names.validate_identity_name(self.identity.name))
        if self.uses_vault:
            check("vault.name", names.validate_vault_name(self.vault.name))
            check("secret.name", names.validate_secret_name(self.secret.name))
        for label, value, allowed in (("vault.access_model", self.vault.access_model, ACCESS_MODELS),
                                      ("grant.scope", self.grant.scope, GRANT_SCOPES),
                                      ("vault.if_soft_deleted", self.vault.if_soft_deleted, SOFT_DELETED_CHOICES),
                                      ("secret.if_soft_deleted", self.secret.if_soft_deleted, SOFT_DELETED_CHOICES),
                                      ("vault.secret_write", self.vault.secret_write, SECRET_WRITES)):
            if value not in allowed:
                problems.append(f"{label}: '{value}' is not one of {', '.join(allowed)}.")
        if self.vault.access_model == "access_policy" and self.grant.scope == "secret":
            problems.append("grant.scope: access policies apply to the whole vault, not one secret; set "
                            "grant.scope = \"vault\", or use access_model = \"rbac\" for a per-secret grant.")
        problems += target_kind(self.target.kind).problems(self)
        from .spec_rules import grant_problems
        problems += grant_problems(self)
        from .spec_reproduce import reproduce_problems
        problems += reproduce_problems(self)
        problems += value_problems(self)
        return problems


def _build(cls: type[_D], data: dict[str, Any], where: str) -> _D:
    if not isinstance(data, dict):
        raise SpecError(f"{where}: expected a table, found {type(data).__name__}.")
    known = {f.name: f for f in fields(cls)}
    unknown = sorted(set(data) - set(known))
    if unknown:
        raise SpecError(f"{where}: unknown key{'s' if len(unknown) > 1 else ''} {', '.join(unknown)}. "
                        f"Known keys: {', '.join(known)}.")
    values: dict[str, Any] = {}
    defaults = cls()
    for key, value in data.items():
        default = getattr(defaults, key)
        label = f"{where}.{key}"
        if known[key].metadata.get("target"):
            values[key] = _build_target(value, label)
            continue
        item = known[key].metadata.get("item")
        if item is not None:
            if not isinstance(value, list):
                raise SpecError(f"{label}: expected a list of tables ([[{key}]] blocks).")
            values[key] = [_build(item, entry, f"{label}[{n}]") for n, entry in enumerate(value)]
        elif is_dataclass(default) and not isinstance(default, type):  # a table (an instance, as in cls())
            values[key] = _build(type(default), value, label)
        elif isinstance(default, bool):
            if not isinstance(value, bool):
                raise SpecError(f"{label}: expected true or false, found {value!r}.")
            values[key] = value
        elif isinstance(default, int) and not isinstance(default, float):
            if isinstance(value, bool) or not isinstance(value, int):
                raise SpecError(f"{label}: expected a whole number, found {value!r}.")
            values[key] = value
        elif isinstance(default, float):
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise SpecError(f"{label}: expected a number, found {value!r}.")
            values[key] = float(value)
        elif isinstance(default, str):
            if not isinstance(value, str):
                raise SpecError(f"{label}: expected a string, found {value!r}.")
            values[key] = value
        elif isinstance(default, list):
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise SpecError(f"{label}: expected a list of strings.")
            values[key] = list(value)
        elif isinstance(default, dict):
            if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
                raise SpecError(f"{label}: expected a table of strings.")
            values[key] = dict(value)
    return cls(**values)


def _build_target(data: Any, where: str) -> TargetSpec:
    """`[target]`: its kind picks the dataclass. Keys of another kind left at that kind's defaults are dropped
    (specs saved before targets were units carried every kind's defaults); others are refused with the kind."""
    if not isinstance(data, dict):
        raise SpecError(f"{where}: expected a table, found {type(data).__name__}.")
    kind_name = data.get("kind", "aci")
    try:
        kind = target_kind(kind_name if isinstance(kind_name, str) else "")
    except ValueError as err:
        raise SpecError(f"{where}.kind: {err}") from None
    own = {f.name for f in fields(kind.spec_type)}
    kept = {}
    for key, value in data.items():
        if key in own:
            kept[key] = value
            continue
        other = next((k for k in kinds() if key in {f.name for f in fields(k.spec_type)}), None)
        if other is not None and getattr(other.spec_type(), key) == value:
            continue  # a default of another kind, from an older saved spec: meaningless here
        belongs = f"it is a setting of kind = \"{other.kind}\" ({other.title})" if other is not None else \
            "no kind of target has it"
        raise SpecError(f"{where}.{key}: not a key of kind = \"{kind.kind}\" ({kind.title}); {belongs}. Remove "
                        f"it, or set the kind it belongs to. Keys of this kind: {', '.join(sorted(own))}.")
    built: TargetSpec = _build(kind.spec_type, kept, where)
    return built


def load_spec(path: Path | str) -> Spec:
    path = Path(path)
    try:
        data = tomllib.loads(path.read_bytes().decode("utf-8-sig"))  # -sig: a BOM some editors add is not TOML
    except FileNotFoundError:
        raise SpecError(f"No spec file at {path}. Check the path, or create one with the wizard.") from None
    except IsADirectoryError:
        raise SpecError(f"{path} is a directory, not a spec file. Give the path of the .toml file, e.g. "
                        f"{path / 'setup.toml'}.") from None
    except UnicodeDecodeError as err:
        raise SpecError(f"{path} is not UTF-8 text (the first bad byte is at offset {err.start}); TOML files are "
                        "UTF-8. Save it as UTF-8 in your editor (or convert it: iconv -t UTF-8) and run again.") from None
    except OSError as err:
        raise SpecError(f"Cannot read the spec file {path}: {err.strerror or err}. Check the path and its "
                        "permissions.") from None
    except tomllib.TOMLDecodeError as err:
        raise SpecError(f"{path} is not valid TOML: {err}. Fix that line and run again.") from None
    return Spec.from_dict(data, source=path.name)


def dump_spec(spec: Spec) -> str:
    import tomli_w
    data = _prune(spec.to_dict())
    return tomli_w.dumps(data)


def _prune(data: dict[str, Any]) -> dict[str, Any]:
    # Empty strings, lists and tables say nothing a default doesn't: keep shared specs short.
    out: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            out[key] = [_prune(v) for v in value]
        elif isinstance(value, dict) and key not in ("environment",):
            value = _prune(value)
            if value:
                out[key] = value
        elif value not in ("", [], {}):
            out[key] = value
    return out


def save_spec(spec: Spec, path: Path | str) -> None:
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(dump_spec(spec))
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
