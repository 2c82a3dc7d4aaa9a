"""Importing this package registers every provider's routes in `wizard.sandbox.router.router`."""

from . import login, resources, msi, authorization, keyvault_mgmt, keyvault_data, keyvault_secrets_mgmt, aci, batch, imds  # noqa: F401
from . import batch_data  # noqa: F401 - the Batch service API (pools, nodes, jobs, tasks) of each Batch account
from . import oidc, aks, storage, registry  # noqa: F401 - AKS clusters and OIDC issuers, storage, container registries
