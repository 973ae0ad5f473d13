"""Slack HTTP mode checks the signature on the raw bytes before parsing anything.

Every malformed request, signed or not, is answered 4xx: never a 5xx, never a traceback.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import time

import aiohttp
import pytest

from emulators.slack.http_events import sign
from tests.harness import slack_bridge

DEEP = b"[" * 200_000 + b"]" * 200_000
DEEP_OBJECT = b'{"a":' * 50_000 + b"1" + b"}" * 50_000
BODIES = {
    "not-json": b"hello, this is not JSON",
    "json-array": b'[{"type": "event_callback"}]',
    "json-string": b'"event_callback"',
    "invalid-utf8": b'{"type": "\xff\xfe event_callback"}',
    "deep-array": DEEP,
    "deep-object": DEEP_OBJECT,
    "empty": b"",
    "odd-event": b'{"type": "event_callback", "event": "not an object"}',
    "odd-team": b'{"type": "event_callback", "team_id": 5, "event": {"type": "message"}}',
    "huge": b'{"type": "event_callback", "pad": "' + b"x" * (3 * 1024 * 1024) + b'"}',
}


def signed_headers(secret: str, body: bytes) -> dict[str, str]:
    timestamp = str(int(time.time()))
    text = body.decode("utf-8", errors="surrogateescape")
    try:
        signature = sign(secret, timestamp, text)
    except UnicodeEncodeError:
        base = f"v0:{timestamp}:".encode() + body
        signature = "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    return {
        "Content-Type": "application/json",
        "X-Slack-Request-Timestamp": timestamp,
        "X-Slack-Signature": signature,
    }


@pytest.mark.parametrize("signed", [True, False], ids=["signed", "unsigned"])
async def test_malformed_bodies_get_4xx(
    redis_url: str, prefix: str, signed: bool, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    async with slack_bridge(redis_url, prefix, socket_mode=False) as env:
        url = env.slack.http_events_url
        assert url is not None
        statuses: dict[str, int] = {}
        async with aiohttp.ClientSession() as session:
            for name, body in BODIES.items():
                headers = (
                    signed_headers(env.slack.signing_secret, body)
                    if signed
                    else {"Content-Type": "application/json"}
                )
                async with session.post(url, data=body, headers=headers) as response:
                    await response.read()
                    statuses[name] = response.status
        env.neuroflash.script("Still fine.")
        root = await env.slack.user_post("C1", "<@UBOT> still there?")
        await env.wait_reply("C1", root, "Still fine.")
    assert all(400 <= s < 500 for s in statuses.values()), statuses
    if not signed:
        assert statuses.pop("huge") == 413
        assert statuses.pop("invalid-utf8") == 400  # cannot carry a valid signature
        assert set(statuses.values()) == {401}, statuses
    tracebacks = [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]
    assert not tracebacks, [r.getMessage() for r in tracebacks]
