"""/metrics after a scripted conversation, read with prometheus_client's own text parser:
counters and histogram sample counts match what happened on the emulators."""

from __future__ import annotations

import importlib.metadata
import re

import httpx
from prometheus_client.parser import text_string_to_metric_families

from emulators.base import Fault
from tests.harness import Env, discord_bridge, slack_bridge

CHANNEL = "C1"
MENTION = "<@UBOT>"
HISTOGRAMS = (
    "post_to_first_text_seconds",
    "first_token_to_first_text_seconds",
    "final_lag_seconds",
    "provider_first_token_seconds",
    "reply_duration_seconds",
)


async def scrape(env: Env) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample on /metrics, keyed by name and sorted labels."""
    async with httpx.AsyncClient() as client:
        response = await client.get(f"http://127.0.0.1:{env.runtime.http_port}/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    samples = {}
    for family in text_string_to_metric_families(response.text):
        for s in family.samples:
            samples[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return samples


def value(
    samples: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **labels: str
) -> float:
    return samples.get((f"threadbridge_{name}", tuple(sorted(labels.items()))), 0.0)


SLACK_WRITES = (
    "chat.startStream",
    "chat.appendStream",
    "chat.stopStream",
    "chat.postMessage",
    "chat.update",
)


async def test_metrics_match_a_scripted_conversation(redis_url: str, prefix: str) -> None:
    async with slack_bridge(redis_url, prefix) as env:
        env.neuroflash.script("One.", "Two.", "Three broke")
        env.slack.fail_next("chat.startStream", Fault("status", 429, headers={"Retry-After": "1"}))
        root = await env.slack.user_post(CHANNEL, f"{MENTION} first")
        await env.wait_reply(CHANNEL, root, "One.")
        await env.slack.user_post(CHANNEL, "second", thread_ts=root)
        await env.wait_reply(CHANNEL, root, "One.Two.")
        env.neuroflash.fail_next(
            "stream", Fault("error_event", body={"code": "generationFailed"}, after=1)
        )
        other = await env.slack.user_post(CHANNEL, f"{MENTION} third")
        await env.wait(lambda: any("⚠️" in m.text for m in env.replies(CHANNEL, other)))
        await env.wait(lambda: env.runtime.metrics.value("replies_total", outcome="failed") == 1)
        await env.wait(lambda: env.runtime.metrics.value("replies_total", outcome="done") == 2)

        samples = await scrape(env)
        assert value(samples, "posts_received_total", platform="slack") == 3
        assert value(samples, "replies_total", outcome="done") == 2
        assert value(samples, "replies_total", outcome="failed") == 1
        code = {"provider": "neuroflash", "code": "generationFailed"}
        assert value(samples, "provider_errors_total", **code) == 1
        by = {name: {"platform": "slack"} for name in HISTOGRAMS}
        by["provider_first_token_seconds"] = {"provider": "neuroflash"}
        for name in ("post_to_first_text_seconds", "reply_duration_seconds"):
            assert value(samples, f"{name}_count", **by[name]) == 3, name
        for name in ("first_token_to_first_text_seconds", "provider_first_token_seconds"):
            assert value(samples, f"{name}_count", **by[name]) == 3, name
        assert value(samples, "final_lag_seconds_count", platform="slack") == 2
        for name in HISTOGRAMS:
            count = value(samples, f"{name}_count", **by[name])
            assert value(samples, f"{name}_bucket", le="+Inf", **by[name]) == count
        waits = {labels: n for (name, labels), n in samples.items() if "budget_waits" in name}
        paused = {"platform": "slack", "method": "chat.startStream"}
        assert value(samples, "budget_waits_total", **paused) >= 1, waits
        assert {dict(labels)["method"] for labels in waits} <= set(SLACK_WRITES), waits
        for method in SLACK_WRITES:
            sent = len(env.slack.calls_to(method))
            assert value(samples, "messenger_calls_total", platform="slack", method=method) == sent
        limited = {"platform": "slack", "method": "chat.startStream"}
        assert value(samples, "messenger_rate_limited_total", **limited) == 1
        assert value(samples, "active_streams") == 0
        assert value(samples, "inbox_pending") == 0
        assert value(samples, "inbox_oldest_pending_age_seconds") == 0
        assert ("threadbridge_dead_letters_total", ()) in samples
        for (name, labels), _ in samples.items():
            assert all(key not in ("thread", "user", "channel") for key, _ in labels), name


async def test_inc_keeps_working_for_undeclared_counters() -> None:
    from bridge.metrics import Metrics

    metrics = Metrics()
    metrics.inc("widgets_total")
    metrics.inc("widgets_total", 2)
    metrics.inc("gadgets_total", kind="a")
    metrics.inc("gadgets_total", kind="a", unknown="dropped")
    metrics.inc("replies", outcome="done")
    text = metrics.exposition().decode()
    assert "threadbridge_widgets_total 3.0" in text
    assert 'threadbridge_gadgets_total{kind="a"} 2.0' in text
    assert 'threadbridge_replies_total{outcome="done"} 1.0' in text
    assert metrics.value("widgets_total") == 3
    assert metrics.value("replies_total", outcome="done") == 1


async def test_discord_calls_are_counted_by_route(redis_url: str, prefix: str) -> None:
    async with discord_bridge(redis_url, prefix) as env:
        emu = env.discord
        env.neuroflash.script("Counted on Discord.")
        emu.rate_limit_next("create_message")
        post = await emu.user_message(emu.channel.id, "count me", mentions_bot=True)
        await env.wait(lambda: env.discord_text(post.id) == "Counted on Discord.", timeout=30)
        await env.wait(lambda: env.runtime.metrics.value("replies_total", outcome="done") == 1)
        samples = await scrape(env)
        route = "POST /channels/{id}/messages"
        sent = [c for c in emu.calls if c.method == "POST" and c.path.endswith("/messages")]
        assert sent
        assert value(samples, "messenger_calls_total", platform="discord", method=route) == len(
            sent
        )
        methods = {labels for (name, labels) in samples if name.endswith("calls_total")}
        limited = {"platform": "discord", "method": route}
        assert value(samples, "messenger_rate_limited_total", **limited) == 1
        assert len(methods) >= 3
        assert not [labels for labels in methods if re.search(r"\d{5,}", str(labels))]
        assert value(samples, "post_to_first_text_seconds_count", platform="discord") == 1
        assert value(samples, "final_lag_seconds_count", platform="discord") == 1


async def test_scrape_has_build_info_process_and_platform_and_no_created_series(
    redis_url: str, prefix: str
) -> None:
    """The version a replica runs, its CPU/memory/file descriptors and Python build are on
    /metrics; `_created` series (a timestamp per series, doubling the series count) are not."""
    async with slack_bridge(redis_url, prefix) as env:
        env.neuroflash.script("Counted.")
        root = await env.slack.user_post(CHANNEL, f"{MENTION} count me")
        await env.wait_reply(CHANNEL, root, "Counted.")
        await env.wait(lambda: env.runtime.metrics.value("replies_total", outcome="done") == 1)
        samples = await scrape(env)
    names = {name for name, _ in samples}
    version = importlib.metadata.version("threadbridge")
    assert value(samples, "build_info", version=version) == 1
    assert [n for n in names if n.startswith("threadbridge_build")] == ["threadbridge_build_info"]
    for name in ("process_cpu_seconds_total", "process_resident_memory_bytes", "python_info"):
        assert name in names, name
    assert value(samples, "replies_total", outcome="done") == 1
    assert not [n for n in names if n.endswith("_created")]


async def test_the_wait_for_a_provider_connection_is_observed_per_request(
    redis_url: str, prefix: str
) -> None:
    """Each provider request (the conversation, the stream; the token first) observes how long
    it waited for a connection: /metrics carries the histogram after one reply."""
    async with slack_bridge(redis_url, prefix) as env:
        env.neuroflash.script("One.")
        root = await env.slack.user_post(CHANNEL, f"{MENTION} first")
        await env.wait_reply(CHANNEL, root, "One.")
        await env.wait(lambda: env.runtime.metrics.value("replies_total", outcome="done") == 1)
        samples = await scrape(env)
        name = "provider_connection_wait_seconds"
        asked = env.neuroflash.calls_to("message-streams", "POST")
        assert len(asked) == 1 and value(samples, f"{name}_count") >= 2
        assert value(samples, f"{name}_bucket", le="+Inf") == value(samples, f"{name}_count")
        assert 0 < value(samples, f"{name}_sum") < 5.0
