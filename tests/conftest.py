"""Shared fixtures: a fresh sandbox per test and real SDK clients pointed at it over HTTPS."""

from __future__ import annotations

import pytest

from wizard.azure.clients import AzureClients, make_credential
from wizard.azure.profiles import sandbox_profile
from wizard.sandbox import Sandbox, running_sandbox


@pytest.fixture
def sandbox(tmp_path) -> Sandbox:
    """A demo-seeded sandbox with no realism delays (tests switch them on as needed)."""
    with running_sandbox(tmp_path / "sandbox", seed="demo") as sb:
        yield sb


@pytest.fixture
def profile(sandbox):
    return sandbox_profile(sandbox.descriptor())


@pytest.fixture
def credential(profile):
    return make_credential(profile)


@pytest.fixture
def sub_id(sandbox) -> str:
    return sandbox.subscription_ids[0]


@pytest.fixture
def az(profile, credential, sub_id) -> AzureClients:
    """Management clients for the first demo subscription, signed in as the Owner operator."""
    return AzureClients(profile, credential, sub_id)


@pytest.fixture
def contributor_az(sandbox, profile, sub_id) -> AzureClients:
    """The same subscription, signed in as the operator who is only Contributor."""
    op = sandbox.operator("contributor")
    prof = profile.with_operator(op["clientId"], op["clientSecret"])
    return AzureClients(prof, make_credential(prof), sub_id)
