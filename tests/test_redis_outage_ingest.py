"""Redis down at ingest: Slack HTTP mode gets a non-2xx (so Slack retries), the outage is logged
once rather than per event, and the retried event is answered once Redis is back."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from tests.harness import slack_bridge
from tests.procs import redis_server

CHANNEL = "C1"


async def test_slack_http_ingest_refuses_while_redis_is_down(
    tmp_path: Path, prefix: str, caplog: pytest.LogCaptureFixture
) -> None:
    async with (
        redis_server(tmp_path) as redis,
        slack_bridge(redis.url, prefix, socket_mode=False) as env,
    ):
        env.neuroflash.script("Answered after the outage.")
        caplog.clear()
        await redis.stop()
        statuses = []
        events = []
        for text in ("first while down", "second while down"):
            ts = env.slack.workspace.next_ts()
            event = {
                "type": "app_mention",
                "user": "U1",
                "text": f"<@UBOT> {text}",
                "ts": ts,
                "channel": CHANNEL,
                "channel_type": "channel",
                "event_ts": ts,
            }
            events.append(event)
            statuses.append(await env.slack.deliver(event, event_id=f"Ev{ts}"))
        assert all(status >= 500 for status in statuses), statuses
        outage_lines = [
            r
            for r in caplog.records
            if r.levelno >= logging.ERROR and "Redis is unreachable" in r.getMessage()
        ]
        assert len(outage_lines) == 1
        assert not [r for r in caplog.records if r.name.startswith("slack_bolt")]
        await redis.start()
        status = await env.slack.deliver(events[0], event_id=f"Ev{events[0]['ts']}", retry_num=1)
        assert status == 200
        await env.wait(
            lambda: (
                [m.text for m in env.slack.messages(CHANNEL) if m.bot_id]
                == ["Answered after the outage."]
            ),
            timeout=30,
        )
