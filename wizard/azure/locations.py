"""Is the spec's location one of the subscription's regions? Checked against Azure before anything is written, so
a typo ("mars", "westeu") stops the run while nothing exists yet instead of failing at the first create.

One read: `SubscriptionClient.subscriptions.list_locations(subscription)` (GET /subscriptions/{sub}/locations,
api-version 2022-12-01; AZURE_FACTS.md section 1).
"""

from __future__ import annotations

import difflib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .clients import AzureClients

_MAX_LISTED = 40
"""A public-cloud subscription has 60+ regions: list this many and say how to see the rest."""


def subscription_locations(clients: AzureClients) -> list[str]:
    """The short names of the regions where the subscription can create resources, sorted."""
    listed = clients.subscriptions.subscriptions.list_locations(clients.subscription_id)
    return sorted({loc.name for loc in listed if loc.name and _is_physical_region(loc)})


def _is_physical_region(loc: Any) -> bool:
    # Azure also lists edge zones and "logical" regions (geographies such as "europe") that resources cannot be
    # created in. Entries without metadata (older answers, the sandbox) are taken as regions.
    kind = str(getattr(getattr(loc, "type", None), "value", getattr(loc, "type", None)) or "Region")
    metadata = getattr(loc, "metadata", None)
    region_type = getattr(metadata, "region_type", None) if metadata is not None else None
    region_type = str(getattr(region_type, "value", region_type) or "Physical")
    return kind.lower() == "region" and region_type.lower() == "physical"


def location_problem(clients: AzureClients, location: str) -> str | None:
    """None when `location` is one of the subscription's regions; otherwise what is wrong and the regions to use.

    Reads the region list once. When Azure refuses to list them (a role without subscription read, say), the
    check is left to the first create, which names the location itself; sign-in and network failures propagate.
    """
    from azure.core.exceptions import ClientAuthenticationError, HttpResponseError
    try:
        regions = subscription_locations(clients)
    except ClientAuthenticationError:
        raise
    except HttpResponseError:
        return None
    if not regions or location in regions:
        return None
    close = difflib.get_close_matches(location.lower(), regions, n=3, cutoff=0.6)
    hint = f"Did you mean {' or '.join(repr(c) for c in close)}? " if close else ""
    shown = ", ".join(regions[:_MAX_LISTED])
    more = (f" and {len(regions) - _MAX_LISTED} more (az account list-locations -o table)"
            if len(regions) > _MAX_LISTED else "")
    return (f"location: {location!r} is not a region of subscription {clients.subscription_id}. {hint}"
            f"Use one of: {shown}{more}.")
