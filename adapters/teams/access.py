"""Who is an admin on Teams. A bot learns team owners only through Microsoft Graph (an extra
application permission this app does not ask for), so on Teams admins are the ids listed in
BRIDGE_ADMIN_USERS (the core checks those before asking the platform)."""

from __future__ import annotations


def is_teams_admin() -> bool:
    return False
