"""Fixtures for engine tests: a spec, an engine on the sandbox, a secret value to hunt for afterwards."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from wizard.azure.clients import AzureClients, make_credential
from wizard.azure.principal import signed_in_principal
from wizard.engine import Engine
from wizard.progress import RecordingSink
from wizard.secrets import in_memory
from wizard.spec import Spec
from wizard.state_store import StateStore

SECRET_VALUE = "ghp_s3cr3t-T0ken-never-on-disk-7f3a"


def build_spec(**overrides) -> Spec:
    data = {
        "name": "test-setup", "subscription": "Contoso Dev", "resource_group": "rg-flows", "location": "eastus",
        "identity": {"name": "id-flows"}, "vault": {"name": "kv-flows-test"}, "secret": {"name": "git-token"},
        "grant": {"scope": "secret"},
        "target": {"kind": "aci", "container_group": "cg-flows", "image": "prefecthq/prefect:3-latest",
                   "command": ["prefect", "worker", "start", "--pool", "aci"]},
        "verify": {"wait_limit_s": 30.0},
    }
    for key, value in overrides.items():
        if key == "target" and value.get("kind", "aci") != "aci":
            data[key] = value  # another kind of target: its own table
        elif isinstance(value, dict) and isinstance(data.get(key), dict):
            data[key] = {**data[key], **value}
        else:
            data[key] = value
    return Spec.from_dict(data)


class Harness:
    """Builds engines for one sandbox and one state directory, as separate runs of the tool would."""

    def __init__(self, sandbox, state_dir: Path):
        self.sandbox, self.state_dir = sandbox, state_dir
        self.sinks: list[RecordingSink] = []

    def clients(self, operator: str = "operator") -> AzureClients:
        from wizard.azure.profiles import sandbox_profile
        profile = sandbox_profile(self.sandbox.descriptor(operator))
        credential = make_credential(profile)
        return AzureClients(profile, credential, self.sandbox.subscription_ids[0])

    def engine(self, spec: Spec, *, operator: str = "operator", sink=None, cancel=None,
               secret: str = SECRET_VALUE) -> Engine:
        clients = self.clients(operator)
        recording = RecordingSink(forward=sink)
        self.sinks.append(recording)
        return Engine(spec, clients, StateStore(self.state_dir / f"{spec.name}.json"),
                      operator=signed_in_principal(clients.credential, clients.profile.arm_scope),
                      sink=recording, cancel=cancel or threading.Event(), secret_source=in_memory(lambda: secret))

    def writes_since(self, mark: int) -> list:
        """ARM and vault data-plane writes answered since `mark` (an index into sandbox.calls)."""
        return [c for c in self.sandbox.calls[mark:] if c.method not in ("GET", "HEAD") and c.plane in ("arm", "vault")
                and not c.path.lower().endswith("/checknameavailability")]


@pytest.fixture
def harness(sandbox, tmp_path) -> Harness:
    return Harness(sandbox, tmp_path / "state")


def assert_secret_nowhere(*roots: Path, value: str = SECRET_VALUE) -> None:
    """The secret value is in no file under these directories (state, spec, logs, sandbox data aside)."""
    needle = value.encode()
    for root in roots:
        for path in Path(root).rglob("*"):
            if path.is_file():
                assert needle not in path.read_bytes(), f"secret value found in {path}"
