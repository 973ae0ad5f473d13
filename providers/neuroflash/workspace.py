"""Which neuroflash workspace to work in: `NEUROFLASH_WORKSPACE_ID`, or else the first workspace
the client's token can see (seed 001, step 2: `GET …/workspace-service/v1/workspaces`), asked
once per process. Shared by both neuroflash APIs, which are scoped to a workspace."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import httpx

from bridge.contracts.toolkit.auth import TokenCache, bearer, request_authed
from bridge.contracts.toolkit.replies import ProviderError
from bridge.contracts.toolkit.sse import ProviderHTTPError

log = logging.getLogger(__name__)

WORKSPACES = "workspace-service/v1/workspaces"
NONE_LISTED = "neuroflash lists no workspace for these credentials; set NEUROFLASH_WORKSPACE_ID."


class Workspace:
    """The workspace id, configured or discovered on first use."""

    def __init__(self, configured: str | None, client: httpx.AsyncClient, tokens: TokenCache):
        self._id = configured or None
        self._client = client
        self._tokens = tokens
        self._lock = asyncio.Lock()

    async def id(self) -> str:
        """The id; the first call without a configured one asks neuroflash (raises on failure)."""
        if self._id is None:
            async with self._lock:
                if self._id is None:
                    self._id = await self._discover()
        return self._id

    async def _discover(self) -> str:
        response = await request_authed(self._client, "GET", WORKSPACES, self._tokens, bearer)
        if response.status_code >= 400:
            raise ProviderHTTPError.from_response(response)
        found = first_workspace(response.json())
        if found is None:
            raise ProviderError(NONE_LISTED, retryable=False, code="no_workspace")
        log.info("neuroflash workspace %s (the first the credentials see)", found)
        return found


def first_workspace(data: Any) -> str | None:
    """`_embedded.workspaces[0].id` of a workspaces listing (HAL, as seed 001 shows it)."""
    try:
        value = data["_embedded"]["workspaces"][0]["id"]
    except (KeyError, IndexError, TypeError):
        return None
    return str(value) if value not in (None, "") else None
