"""Is this activity from the Bot Connector? Its JWT checked as Microsoft documents it.

https://learn.microsoft.com/azure/bot-service/rest-api/bot-framework-rest-connector-authentication,
"Authenticate requests from the Bot Connector service to your bot": the token comes in the
`Authorization` header with the Bearer scheme; RS256 (the metadata's
`id_token_signing_alg_values_supported`), signed by a key of the document at the OpenID
metadata's `jwks_uri`; `iss` `https://api.botframework.com`; `aud` the bot's app id; not
expired, with five minutes of clock skew; a `serviceurl` claim equal to the activity's
`serviceUrl`; and the key's `endorsements` must name the activity's `channelId`. Anything else
is refused (401 without a usable bearer token, 403 for a token that fails a check) and nothing
of the activity is acted on.

Keys are cached (Microsoft's SDKs keep them for days) and fetched again when a token names a
`kid` the cache lacks, at most once per `REFRESH_EVERY` so forged `kid`s cannot make the bridge
hammer the metadata endpoint. PyJWT does the signature and claim checks; nothing here is crypto.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from typing import Any

import aiohttp
import jwt

log = logging.getLogger(__name__)

ISSUER = "https://api.botframework.com"
ALGORITHMS = ["RS256"]
LEEWAY = 300
KEYS_TTL = 24 * 3600.0
REFRESH_EVERY = 1.0
FETCH_TIMEOUT = aiohttp.ClientTimeout(total=10)


class Refused(Exception):
    """The activity is not authenticated; `status` is the HTTP answer (401 or 403)."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status


@dataclass(frozen=True, slots=True)
class SigningKey:
    key: jwt.PyJWK
    endorsements: frozenset[str] | None


class ConnectorKeys:
    """The Bot Connector's signing keys, from the metadata's `jwks_uri`, cached."""

    def __init__(self, session: aiohttp.ClientSession, metadata_url: str) -> None:
        self._session = session
        self._metadata_url = metadata_url
        self._keys: dict[str, SigningKey] = {}
        self._fetched = -REFRESH_EVERY
        self._lock = asyncio.Lock()

    async def get(self, kid: str) -> SigningKey | None:
        stale = time.monotonic() - self._fetched > KEYS_TTL
        if kid not in self._keys or stale:
            await self._refresh(force=stale)
        return self._keys.get(kid)

    async def _refresh(self, *, force: bool) -> None:
        async with self._lock:
            if not force and time.monotonic() - self._fetched < REFRESH_EVERY:
                return
            self._fetched = time.monotonic()
            try:
                self._keys = await self.fetch()
            except (aiohttp.ClientError, TimeoutError, ValueError, jwt.PyJWKError) as exc:
                log.warning("Teams: could not read the connector's signing keys: %s", exc)

    async def fetch(self) -> dict[str, SigningKey]:
        """The keys the metadata's `jwks_uri` lists now, by key id."""
        metadata = await self._json(self._metadata_url)
        document = await self._json(str(metadata["jwks_uri"]))
        keys: dict[str, SigningKey] = {}
        for jwk in document.get("keys", []):
            if not isinstance(jwk, dict) or not jwk.get("kid"):
                continue
            endorsements = jwk.get("endorsements")
            named = frozenset(map(str, endorsements)) if isinstance(endorsements, list) else None
            fields = {k: v for k, v in jwk.items() if k != "endorsements"}
            keys[str(jwk["kid"])] = SigningKey(jwt.PyJWK(fields, algorithm="RS256"), named)
        return keys

    async def _json(self, url: str) -> dict[str, Any]:
        async with self._session.get(url, timeout=FETCH_TIMEOUT) as response:
            response.raise_for_status()
            data = await response.json(content_type=None)
        if not isinstance(data, dict):
            raise ValueError(f"{url} did not answer a JSON object")
        return data


class ActivityAuth:
    """Checks the bearer token of each activity against the app id and the connector's keys."""

    def __init__(self, keys: ConnectorKeys, app_id: str) -> None:
        self._keys = keys
        self._app_id = app_id

    async def verify(self, authorization: str, activity: dict[str, Any]) -> dict[str, Any]:
        """The token's claims, or `Refused`."""
        scheme, _, token = authorization.partition(" ")
        if scheme != "Bearer" or not token.strip():
            raise Refused(401, "no bearer token")
        try:
            header = jwt.get_unverified_header(token.strip())
        except jwt.InvalidTokenError as exc:
            raise Refused(401, f"malformed token: {exc}") from None
        if header.get("alg") not in ALGORITHMS:
            raise Refused(403, f"algorithm {header.get('alg')!r} is not RS256")
        key = await self._keys.get(str(header.get("kid") or ""))
        if key is None:
            raise Refused(403, "signed by an unknown key")
        claims = self._decode(token.strip(), key)
        service_url = claims.get("serviceurl") or claims.get("serviceUrl")
        if not service_url or service_url != activity.get("serviceUrl"):
            raise Refused(403, "serviceurl claim does not match the activity's serviceUrl")
        channel = str(activity.get("channelId") or "")
        if key.endorsements is not None and channel not in key.endorsements:
            raise Refused(403, f"the signing key is not endorsed for channel {channel!r}")
        return claims

    def _decode(self, token: str, key: SigningKey) -> dict[str, Any]:
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key.key,
                algorithms=ALGORITHMS,
                audience=self._app_id,
                issuer=ISSUER,
                leeway=LEEWAY,
                options={"require": ["exp", "iss", "aud"]},
            )
        except jwt.InvalidTokenError as exc:
            raise Refused(403, f"token refused: {exc}") from None
        return claims
