"""Importing this package registers every provider's routes in `wizard.sandbox.router.router`."""

from . import (  # noqa: F401  # noqa: F401 - AKS clusters and OIDC issuers, storage, container registries
    aci,
    aks,
    authorization,
    batch,
    batch_data,  # noqa: F401 - the Batch service API (pools, nodes, jobs, tasks) of each Batch account
    imds,
    keyvault_data,
    keyvault_mgmt,
    keyvault_secrets_mgmt,
    login,
    login_device,
    msi,
    oidc,
    registry,
    resources,
    storage,
)
