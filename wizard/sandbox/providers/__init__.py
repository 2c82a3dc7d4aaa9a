"""Importing this package registers every provider's routes in `wizard.sandbox.router.router`."""

from . import login, resources, msi, authorization, keyvault_mgmt, keyvault_data, keyvault_secrets_mgmt, aci, batch, imds  # noqa: F401
