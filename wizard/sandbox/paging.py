"""List answers in pages, as Azure sends them: one page, and a nextLink that serves the next one.

A caller may ask for a page size (`$top` on ARM, `maxresults` on Key Vault and Batch); a collection longer than
the service's own page size is paged anyway. The nextLink is an absolute URL on the host that was asked, with the
same path and query (api-version, $filter, the page size...) plus an opaque `$skiptoken`, so the SDK pagers follow
it as they follow Azure's. On the last page ARM leaves `nextLink` out (e.g. the MSI and resource-group lists
recorded by azure-cli) while Key Vault's data plane sends `"nextLink": null`.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from .router import ArmError

SIZE_PARAMS = ("$top", "maxresults", "$maxresults")
"""Page-size parameters, lower-case as the router keeps them: ARM's `$top`; `maxresults` of Key Vault and of
the Batch management pool list (the SDK sends it without `$`); `$maxresults` of raw Batch callers."""
SKIPTOKEN = "$skiptoken"

ARM_PAGE_SIZE = 1000
"""ARM's own collections (resource groups, generic resources) come 1000 to a page with a `$skiptoken` nextLink;
the sandbox uses the same size for every ARM list, so thousands of groups are answered in a few pages."""
KEYVAULT_PAGE_SIZE = 25
"""Key Vault's data plane: 'If not specified the service will return up to 25 results', and maxresults may not
exceed 25."""


@dataclass(frozen=True)
class Paging:
    """How one service pages."""

    page_size: int
    """Items per page when the caller asks for no size, and the largest page served."""
    reject_larger: bool
    """A requested size above page_size is refused (Key Vault) rather than served as page_size (ARM)."""
    null_last: bool
    """The last page carries `"nextLink": null` (Key Vault) instead of no key (ARM)."""
    error_code: str
    """The code of a 400 for a bad size or token: ARM's query-string codes or Key Vault's BadParameter."""


ARM_PAGING = Paging(ARM_PAGE_SIZE, reject_larger=False, null_last=False, error_code="InvalidQueryParameterValue")
KEYVAULT_PAGING = Paging(KEYVAULT_PAGE_SIZE, reject_larger=True, null_last=True, error_code="BadParameter")


def encode_token(offset: int) -> str:
    """An opaque continuation token, shaped like Key Vault's own (base64 JSON with a NextMarker)."""
    raw = json.dumps({"NextMarker": f"sandbox!{offset}", "TargetLocation": 0}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def decode_token(token: str, paging: Paging = ARM_PAGING) -> int | None:
    """The offset in one of our tokens; None for a token that is not ours (a handler that pages on its own,
    as the Batch pool list does with integer `$skiptoken`s, passes its page in already cut)."""
    if not token or token.isdigit():
        return None
    try:
        data = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        marker = data["NextMarker"]
        if not isinstance(marker, str) or not marker.startswith("sandbox!"):
            raise ValueError(marker)
        offset = int(marker.split("!", 1)[1])
        if offset < 0:
            raise ValueError(offset)
        return offset
    except (binascii.Error, ValueError, KeyError, TypeError, UnicodeDecodeError):
        # Not confirmed against Azure: a 400 with the service's usual code for a bad query parameter.
        raise ArmError(400, paging.error_code, f"The $skiptoken '{token}' is not valid.") from None


def requested_size(query: Mapping[str, str], paging: Paging) -> int:
    """The page size to serve: the caller's (bounded by the service's) or the service's default."""
    for name in SIZE_PARAMS:
        raw = query.get(name)
        if raw is None or raw == "":
            continue
        try:
            size = int(raw)
        except ValueError:
            size = 0
        if size < 1 or (paging.reject_larger and size > paging.page_size):
            # Not confirmed against Azure: Key Vault documents 1..25; ARM wants a positive integer.
            raise ArmError(400, paging.error_code,
                           f"The value '{raw}' of the query parameter '{name}' is invalid: it must be an integer "
                           f"from 1 to {paging.page_size}." if paging.reject_larger else
                           f"The value '{raw}' of the query parameter '{name}' is invalid: it must be a positive "
                           "integer.")
        return min(size, paging.page_size)
    return paging.page_size


def next_link(base_url: str, path: str, query: Mapping[str, str], offset: int) -> str:
    """The URL of the page starting at `offset`: the same path and query (api-version first), a new $skiptoken."""
    params = [(k, v) for k, v in query.items() if k != SKIPTOKEN]
    params.sort(key=lambda kv: kv[0] != "api-version")
    params.append((SKIPTOKEN, encode_token(offset)))
    text = "&".join(f"{quote(k, safe='$')}={quote(v, safe='')}" for k, v in params)
    return f"{base_url.rstrip('/')}{path}?{text}"


def paginate(items: list[Any], *, base_url: str, path: str, query: Mapping[str, str], paging: Paging,
             convert: Callable[[Any], Any] = lambda item: item) -> dict[str, Any]:
    """{"value": one page of `items` (converted), "nextLink": the next page's URL when there is one}."""
    size = requested_size(query, paging)
    offset = decode_token(query.get(SKIPTOKEN, ""), paging) or 0
    body: dict[str, Any] = {"value": [convert(item) for item in items[offset:offset + size]]}
    if offset + size < len(items):
        body["nextLink"] = next_link(base_url, path, query, offset + size)
    elif paging.null_last:
        body["nextLink"] = None
    return body
