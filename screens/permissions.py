"""Permissions: what will be granted, to whom, at which scope, and why that is the least privilege."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from textual import on
from textual.widget import Widget
from textual.widgets import Checkbox, RadioButton, RadioSet, Static

from .base import Collected, WizardScreen, chosen

HELP = """
**Key Vault Secrets User** allows one data action, reading secret values (`secrets/getSecret`), and nothing
else: no writes, no keys, no certificates, no vault settings.

- *Why not Reader or Contributor?* They manage the vault's settings but carry no data actions: they cannot
  read a secret at all, and would grant far more than needed.
- *Why the secret scope?* A grant on the vault lets the identity read **every** secret in it, including ones
  added later. A grant on one secret is the least privilege.
- *Access policies* (older vaults) cannot be limited to one secret: a `get` policy covers the whole vault.

You (the person running mi-wizard) also need to **write** the secret once. Owner and Contributor cannot on an
RBAC vault, so you get Key Vault Secrets Officer on this vault, unless you have it already.
"""

SECRETS_USER = "Key Vault Secrets User"


class PermissionsScreen(WizardScreen):
    SCREEN_ID = "permissions"
    LEAD = "What the identity is allowed to do. Nothing more than reading this secret."
    HELP = HELP

    def compose_body(self) -> Iterable[Widget]:
        yield Static("", id="grant")
        with RadioSet(id="scope"):
            yield RadioButton("This secret only (least privilege)", name="secret")
            yield RadioButton("Every secret in the vault", name="vault")
        yield Checkbox("Also allow listing secret names (list)", id="allow-list")
        yield Static("", id="why", classes="muted")

    def on_mount(self) -> None:
        super().on_mount()
        spec, answers = self.draft.spec, self.answers()
        self.model = spec.vault.access_model
        scope = "vault" if self.model == "access_policy" else answers.get("scope", spec.grant.scope)
        for button in self.query_one("#scope", RadioSet).query(RadioButton):
            button.value = button.name == scope
        self.query_one("#scope", RadioSet).display = self.model == "rbac"
        allow = self.query_one("#allow-list", Checkbox)
        allow.display = self.model == "access_policy"
        allow.value = bool(answers.get("allow_list", spec.grant.allow_list))
        (self.query_one("#scope", RadioSet) if self.model == "rbac" else allow).focus()
        self.explain()
        self.can_advance = True

    @property
    def scope(self) -> str:
        if self.model != "rbac":
            return "vault"
        return chosen(self.query_one("#scope", RadioSet), "secret")

    @on(RadioSet.Changed)
    @on(Checkbox.Changed)
    def explain(self, _: Any = None) -> None:
        spec = self.draft.spec
        who, vault, secret = spec.identity.name, spec.vault.name, spec.secret.name
        if self.model == "rbac":
            where = f"the secret {secret} in vault {vault}" if self.scope == "secret" else f"the whole vault {vault}"
            grant = (f"Grant  [b]{SECRETS_USER}[/b] (read secret values, nothing else)\n"
                     f"To     the managed identity [b]{who}[/b] (principal type ServicePrincipal)\n"
                     f"At     {where}")
            why = ("The vault uses Azure RBAC, so a role can be granted on a single secret: that is the least "
                   "privilege." if self.scope == "secret" else
                   "Vault scope lets the identity read every secret in the vault, including later ones. Choose "
                   "the secret scope unless the workload needs several secrets.")
            why += (" You get Key Vault Secrets Officer on the vault so you can write the secret once (Owner and "
                    "Contributor cannot read or write secrets on an RBAC vault).")
        else:
            perms = "get, list" if self.query_one("#allow-list", Checkbox).value else "get"
            grant = (f"Grant  an access policy with secret permissions [b]{perms}[/b]\n"
                     f"To     the managed identity [b]{who}[/b]\n"
                     f"At     the whole vault {vault} (access policies cannot name one secret)")
            why = ("The vault uses access policies, the older model: a policy covers every secret in the vault. "
                   "'get' alone reads a secret whose name is known; 'list' is only needed to discover names. "
                   "An RBAC vault allows a per-secret grant.")
        self.query_one("#grant", Static).update(grant)
        self.query_one("#why", Static).update(why)

    def typed(self) -> dict[str, Any]:
        return {"scope": self.scope, "allow_list": self.query_one("#allow-list", Checkbox).value}

    def collect(self) -> Collected | None:
        answers = self.typed()
        return answers, {"grant": dict(answers)}
