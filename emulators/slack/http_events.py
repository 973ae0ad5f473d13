"""Slack's HTTP (Events API) delivery: a signed POST of the event_callback payload.

The signature is `v0=` + HMAC-SHA256 of `v0:{timestamp}:{body}` with the signing secret, sent in
`X-Slack-Signature` beside `X-Slack-Request-Timestamp`; retries carry `X-Slack-Retry-Num/-Reason`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any
from urllib.parse import urlencode

import aiohttp


def sign(secret: str, timestamp: str, body: str) -> str:
    """Slack's request signature for `body` sent at `timestamp`."""
    base = f"v0:{timestamp}:{body}".encode()
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


class HttpEventSender:
    """POSTs events to the app's request URL from one owned client session."""

    def __init__(self, signing_secret: str) -> None:
        self.signing_secret = signing_secret
        self._session: aiohttp.ClientSession | None = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(trust_env=False)
        return self._session

    async def post(
        self,
        url: str,
        payload: dict[str, Any],
        *,
        limit: aiohttp.ClientTimeout,
        retry_num: int = 0,
        retry_reason: str | None = None,
        bad_signature: bool = False,
        form: bool = False,
    ) -> int:
        """Send `payload` signed (or deliberately mis-signed); the app's HTTP status, 0 if none.

        Interactive payloads (`form=True`) go as Slack sends them: a form with one `payload`
        field holding the JSON, signed over the raw form body."""
        body = json.dumps(payload)
        content_type = "application/json"
        if form:
            body = urlencode({"payload": body})
            content_type = "application/x-www-form-urlencoded"
        timestamp = str(int(time.time()))
        secret = self.signing_secret + ("-wrong" if bad_signature else "")
        headers = {
            "Content-Type": content_type,
            "User-Agent": "Slackbot 1.0 (+https://api.slack.com/robots)",
            "X-Slack-Request-Timestamp": timestamp,
            "X-Slack-Signature": sign(secret, timestamp, body),
        }
        if retry_num > 0:
            headers["X-Slack-Retry-Num"] = str(retry_num)
            headers["X-Slack-Retry-Reason"] = retry_reason or "http_timeout"
        try:
            async with self._client().post(
                url, data=body.encode(), headers=headers, timeout=limit
            ) as response:
                await response.read()
                return response.status
        except (aiohttp.ClientError, TimeoutError):
            return 0

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
