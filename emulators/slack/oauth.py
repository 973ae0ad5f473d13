"""Slack's side of app distribution: several workspaces, the OAuth v2 install, uninstalls.

Follows https://api.slack.com/authentication/oauth-v2: the browser is sent to
`/oauth/v2/authorize?client_id&scope&state&redirect_uri[&team]`; once the user approves, Slack
redirects to the app's redirect URL with `code` and the same `state`; the app exchanges the code
(single use, ten minutes) at `oauth.v2.access` with its client id and secret (HTTP Basic or form
fields) and gets the workspace's bot token.
"""

from __future__ import annotations

import base64
import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from aiohttp import web

from emulators.slack.args import ApiError, text_arg

if TYPE_CHECKING:
    from emulators.slack.emulator import SlackEmulator


@dataclass
class Team:
    """One workspace the app can be installed in, with its own bot user and bot token."""

    team_id: str
    bot_token: str
    bot_user_id: str
    bot_id: str
    installed: bool = True
    revoked: bool = False
    name: str = ""
    enterprise_id: str | None = None
    """The Enterprise Grid org the workspace belongs to, if any."""


def team_of_token(emu: SlackEmulator, token: str) -> Team | None:
    for team in emu.teams.values():
        if team.bot_token == token:
            return team
    return None


def caller(emu: SlackEmulator, args: dict[str, Any]) -> Team:
    """The workspace whose bot token made the call (the default one if not known)."""
    team = args.get("_team")
    return team if isinstance(team, Team) else emu.teams[emu.team_id]


async def authorize(emu: SlackEmulator, request: web.Request) -> web.Response:
    """The consent page, approved at once: redirect to the app with a code and its state."""
    await emu.record(request)
    query = request.query
    if query.get("client_id") != emu.client_id:
        return web.Response(status=400, text="invalid_client_id")
    redirect = query.get("redirect_uri") or emu.oauth_redirect_url
    if not redirect:
        return web.Response(status=400, text="no redirect_uri configured")
    team_id = query.get("team") or emu.team_id
    if team_id not in emu.teams:
        return web.Response(status=400, text="unknown team")
    code = secrets.token_hex(12)
    emu.oauth_codes[code] = (team_id, query.get("redirect_uri"))
    params = {"code": code, "state": query.get("state", "")}
    raise web.HTTPFound(f"{redirect}?{urlencode(params)}")


def oauth_v2_access(emu: SlackEmulator, args: dict[str, Any], auth_header: str) -> dict[str, Any]:
    """Exchange a code for the workspace's bot token (oauth.v2.access)."""
    client_id, client_secret = _client_credentials(args, auth_header)
    if client_id != emu.client_id:
        raise ApiError("invalid_client_id")
    if client_secret != emu.client_secret:
        raise ApiError("bad_client_secret")
    code = text_arg(args, "code") or ""
    if code not in emu.oauth_codes:
        raise ApiError("invalid_code")
    team_id, redirect_uri = emu.oauth_codes.pop(code)
    if redirect_uri is not None and text_arg(args, "redirect_uri") != redirect_uri:
        raise ApiError("bad_redirect_uri")
    team = emu.teams[team_id]
    team.installed, team.revoked = True, False
    return {
        "access_token": team.bot_token,
        "token_type": "bot",
        "scope": "app_mentions:read,chat:write,channels:history,reactions:write,commands",
        "bot_user_id": team.bot_user_id,
        "app_id": emu.app_id,
        "team": {"id": team.team_id, "name": team.name or team.team_id},
        # https://api.slack.com/methods/oauth.v2.access: `enterprise` names the workspace's
        # Enterprise Grid org (null outside one); a workspace-level install is not an org one.
        "enterprise": {"id": team.enterprise_id, "name": team.enterprise_id}
        if team.enterprise_id
        else None,
        "is_enterprise_install": False,
        "authed_user": {"id": "UINSTALLER"},
    }


def _client_credentials(args: dict[str, Any], auth_header: str) -> tuple[str, str]:
    if auth_header.startswith("Basic "):
        raw = base64.b64decode(auth_header[len("Basic ") :]).decode()
        client_id, _, client_secret = raw.partition(":")
        return client_id, client_secret
    return text_arg(args, "client_id") or "", text_arg(args, "client_secret") or ""
