"""Importing this package registers every provider's routes in `wizard.sandbox.router.router`."""

from . import login, resources, msi, authorization, keyvault_mgmt, keyvault_data, aci, batch, imds  # noqa: F401
