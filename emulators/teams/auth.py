"""Both sides of Bot Connector authentication, as Microsoft documents them.

Connector → bot (https://learn.microsoft.com/azure/bot-service/rest-api/bot-framework-rest-connector-authentication,
"Authenticate requests from the Bot Connector service to your bot"): every activity carries
`Authorization: Bearer <JWT>`, RS256, signed with a key listed at the `jwks_uri` of the OpenID
metadata document (`GET https://login.botframework.com/v1/.well-known/openidconfiguration`);
each key also carries `endorsements`, the channel ids it may sign for (`msteams`). Claims:
`iss` `https://api.botframework.com`, `aud` the bot's app id, `exp`/`nbf`, and `serviceurl`,
which must equal the activity's `serviceUrl`. The emulator signs with its own RSA key, served
from its own metadata; `rotate_key` replaces it (a bot must refetch on an unknown `kid`).

Bot → connector ("Authenticate requests from your bot to the Bot Connector service"): the bot
asks Entra ID for a client-credentials token (`POST …/{tenant}/oauth2/v2.0/token`,
form `grant_type=client_credentials&client_id&client_secret&scope=https://api.botframework.com/.default`;
answer `{token_type: Bearer, expires_in, ext_expires_in, access_token}`) and sends it as
`Authorization: Bearer` on every REST call. Entra's error answers follow the OAuth 2.0 shape
(`error`, `error_description` with an AADSTS code), e.g. AADSTS7000215 for a wrong secret.
"""

from __future__ import annotations

import json
import secrets
import time
import uuid
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

ISSUER = "https://api.botframework.com"
SCOPE = "https://api.botframework.com/.default"
ENDORSEMENTS = ["msteams"]


class SigningKey:
    """One RSA key pair with its key id, as a JWK with endorsements."""

    def __init__(self) -> None:
        self.private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.kid = uuid.uuid4().hex

    def jwk(self) -> dict[str, Any]:
        public = json.loads(RSAAlgorithm.to_jwk(self.private.public_key()))
        return {**public, "kid": self.kid, "use": "sig", "endorsements": ENDORSEMENTS}

    def sign(self, claims: dict[str, Any]) -> str:
        headers = {"kid": self.kid, "x5t": self.kid, "typ": "JWT"}
        return jwt.encode(claims, self.private, algorithm="RS256", headers=headers)


class ConnectorAuth:
    """The emulator's signing keys (the metadata's `jwks_uri`) and the bot tokens it issued."""

    def __init__(self, app_id: str, password: str, tenant: str, token_ttl: float) -> None:
        self.app_id = app_id
        self.password = password
        self.tenant = tenant
        self.token_ttl = token_ttl
        self.key = SigningKey()
        self.retired: list[SigningKey] = []
        self.tokens: dict[str, float] = {}
        """Issued bot tokens → expiry (monotonic)."""
        self.issued = 0

    def rotate_key(self) -> None:
        """Sign with a new key from now on; the old one leaves the key list."""
        self.retired.append(self.key)
        self.key = SigningKey()

    def keys(self) -> dict[str, Any]:
        return {"keys": [self.key.jwk()]}

    def metadata(self, base_url: str) -> dict[str, Any]:
        return {
            "issuer": ISSUER,
            "authorization_endpoint": "https://invalid.botframework.com",
            "jwks_uri": f"{base_url}/v1/.well-known/keys",
            "id_token_signing_alg_values_supported": ["RS256"],
            "token_endpoint_auth_methods_supported": ["private_key_jwt"],
        }

    def activity_token(
        self, service_url: str, *, key: SigningKey | None = None, **overrides: Any
    ) -> str:
        """The JWT sent with an activity; `overrides` forge claims (None drops one)."""
        now = int(time.time())
        claims: dict[str, Any] = {
            "serviceurl": service_url,
            "nbf": now,
            "exp": now + 3600,
            "iss": ISSUER,
            "aud": self.app_id,
        }
        claims.update(overrides)
        claims = {k: v for k, v in claims.items() if v is not None}
        return (key or self.key).sign(claims)

    def issue(self, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        """Answer a token request as Entra ID would."""
        if form.get("grant_type") != "client_credentials":
            return 400, _oauth_error("unsupported_grant_type", "AADSTS70003")
        if form.get("scope") != SCOPE:
            return 400, _oauth_error("invalid_scope", "AADSTS70011")
        if form.get("client_id") != self.app_id:
            return 400, _oauth_error("unauthorized_client", "AADSTS700016")
        if form.get("client_secret") != self.password:
            return 401, _oauth_error("invalid_client", "AADSTS7000215")
        token = secrets.token_urlsafe(32)
        self.tokens[token] = time.monotonic() + self.token_ttl
        self.issued += 1
        ttl = int(self.token_ttl)
        return 200, {
            "token_type": "Bearer",
            "expires_in": ttl,
            "ext_expires_in": ttl,
            "access_token": token,
        }

    def valid(self, authorization: str) -> bool:
        scheme, _, token = authorization.partition(" ")
        expiry = self.tokens.get(token)
        return scheme == "Bearer" and expiry is not None and expiry > time.monotonic()


def _oauth_error(error: str, code: str) -> dict[str, Any]:
    return {"error": error, "error_description": f"{code}: emulated Entra ID refusal"}
