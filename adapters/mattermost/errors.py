"""What each Mattermost REST error means for a reply write (create post / patch post).

From the API v4 reference and the server's error ids: 400 `model.post.is_valid.msg.app_error`
is a message over the maximum size (TOO_LONG); 413 is a request body over the server's
limit (TOO_LONG); 401 (token revoked), 403 (no permission in the channel, or not the post's
author), 404 (post or channel gone) leave nothing to write to (GONE); other 400s refuse the
content (INVALID); 429 and 5xx are retried (their wait is the Retry-After the client read).
"""

from __future__ import annotations

import asyncio

import aiohttp

from adapters.mattermost.api import ApiError
from bridge.contracts import GONE, INVALID, RETRY, TOO_LONG, WriteRejected

TOO_LONG_IDS = frozenset({"model.post.is_valid.msg.app_error"})


def classify(exc: Exception) -> WriteRejected | None:
    """The core's reading of a failed call; None if `exc` is not a messenger error."""
    if isinstance(exc, ApiError):
        code = f"http_{exc.status}/{exc.error_id}"
        if exc.status == 413 or exc.error_id in TOO_LONG_IDS:
            return WriteRejected(TOO_LONG, code)
        if exc.status in (401, 403, 404):
            return WriteRejected(GONE, code)
        if exc.status == 429 or exc.status >= 500:
            return WriteRejected(RETRY, code, exc.retry_after)
        return WriteRejected(INVALID, code)
    if isinstance(exc, aiohttp.ClientError | asyncio.TimeoutError):
        return WriteRejected(RETRY, type(exc).__name__)
    return None
