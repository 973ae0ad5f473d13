"""A busy workspace. 20 replies at once on two replicas, with Slack's documented
per-method limits enforced by the emulator: budgets shared through Redis keep every call under
its limit, and each reply's first text goes out on its own path (a stream start or a post in its
channel), never queued behind other replies' interim updates on the shared Tier 3/4 budgets.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from emulators.base import Call
from emulators.neuroflash.state import split_tokens
from tests.procs import cluster, wait_until

pytestmark = pytest.mark.alone
"""Timing under enforced rate limits: run when no other test file loads the machine."""

REPLIES = 20
TOKENS_PER_SECOND = 40.0
FIRST_TEXT_WITHIN = 3.0
"""Seconds from the provider request to the reply's first text on Slack: generous for a
shared 2-core machine; with one shared chat.update budget (the placeholder design) the 20th
reply's first text came ~15–25 s late."""


def answer(question: str) -> str:
    """About five seconds of text at TOKENS_PER_SECOND, different for every thread."""
    line = f"Answer to {question}: a sentence about it, with naïve café words. "
    return line * 8 + "Done ✅"


def channel(index: int) -> str:
    return f"CW{index:03d}"


def first_text_call(calls: list[Call], where: str) -> Call:
    """The call that created the reply's message: a stream start or a post."""
    creating = ("/api/chat.startStream", "/api/chat.postMessage")
    return next(
        c
        for c in calls
        if c.path in creating and isinstance(c.body, dict) and c.body.get("channel") == where
    )


def first_text(body: dict[str, object]) -> str:
    """The text a creating call showed: `markdown_text`, or the page's `markdown` block."""
    blocks = body.get("blocks")
    if isinstance(blocks, list) and blocks and isinstance(blocks[0], dict):
        return str(blocks[0].get("text") or "")
    return str(body.get("markdown_text") or "")


async def test_20_replies_two_replicas_documented_limits(
    redis_url: str, prefix: str, tmp_path: Path
) -> None:
    async with cluster(
        redis_url, prefix, tmp_path, tokens_per_second=TOKENS_PER_SECOND, slack_edits_per_minute=50
    ) as c:
        slack, nf = c.slack, c.neuroflash
        slack.enforce_documented_limits()

        def generate(user_text: str) -> str:
            nf.llm_runs += 1
            return answer(user_text)

        nf.generate = generate  # type: ignore[method-assign]
        await c.start(2)
        roots = [
            await slack.user_post(channel(i), f"<@{slack.bot_user_id}> q{i}")
            for i in range(REPLIES)
        ]

        def text(i: int) -> str:
            return "".join(m.text for m in slack.bot_replies(channel(i), roots[i]))

        await wait_until(
            lambda: all(text(i) == answer(f"q{i}") for i in range(REPLIES)), 120, "every reply"
        )
        assert sum(slack.rate_limited.values()) == 0, dict(slack.rate_limited)
        assert all(len(slack.bot_replies(channel(i), roots[i])) == 1 for i in range(REPLIES))

        asked = {c.body["text"]: c.at for c in nf.calls_to("message-streams", "POST")}
        calls = list(slack.calls)
        late = {}
        for i in range(REPLIES):
            first = first_text_call(calls, channel(i))
            delay = first.at - asked[f"q{i}"]
            if delay > FIRST_TEXT_WITHIN:
                late[i] = round(delay, 2)
            shown = first_text(first.body)
            assert shown and answer(f"q{i}").startswith(shown.rstrip("`\n"))
        assert not late, f"first texts later than {FIRST_TEXT_WITHIN}s: {late}"
        interim = [c for c in calls if c.path in ("/api/chat.update", "/api/chat.appendStream")]
        assert interim, "no interim update happened: the budgets were not under pressure"
        assert len(split_tokens(answer("q0"))) / TOKENS_PER_SECOND > 4
