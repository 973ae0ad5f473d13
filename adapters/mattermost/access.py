"""Who is an admin on Mattermost: a system admin (role `system_admin` on the user), as
`GET /api/v4/users/{id}` tells; team and channel admin roles live on memberships and are not
asked (BRIDGE_ADMIN_USERS names anyone else)."""

from __future__ import annotations

import logging

from adapters.mattermost.api import ApiError, MattermostAPI

log = logging.getLogger(__name__)


async def is_admin(api: MattermostAPI, user_id: str) -> bool:
    try:
        user = await api.call("GET", f"/users/{user_id}")
    except ApiError as exc:
        log.info("could not look up user %s: %s", user_id, exc)
        return False
    return "system_admin" in str(user.get("roles") or "").split()
