"""Ten replies at once in one Slack workspace, the emulator limiting nothing: the bridge paces by
the documented tiers only, and those allow every reply to be complete at once. Five open native
streams (Tier 2 burst) and finish with an append (Tier 4); five are posted and finish with
`chat.update` (Tier 3 burst). No reply's whole answer may wait for an even pace of edits.
"""

from __future__ import annotations

import time
from pathlib import Path

from emulators.neuroflash.state import split_tokens
from tests.procs import cluster, wait_until

REPLIES = 10
TOKENS_PER_SECOND = 40.0
FINAL_WITHIN = 3.0
"""Seconds from the provider's last token to the whole answer on Slack. The documented budgets
allow 0 for this load; 3 s leaves room for a loaded 2-core machine. Paced evenly under the
budgets (one chat.update every 1.3 s for the replies beyond a small burst), the last came ~7 s
late."""


def answer(question: str) -> str:
    """About three seconds of text at TOKENS_PER_SECOND, different for every thread."""
    return f"Answer to {question}: a sentence about it, with naïve café words. " * 4 + "Done ✅"


def channel(index: int) -> str:
    return f"CF{index:03d}"


async def test_ten_replies_finish_at_their_last_token_when_slack_limits_nothing(
    redis_url: str, prefix: str, tmp_path: Path
) -> None:
    async with cluster(
        redis_url, prefix, tmp_path, tokens_per_second=TOKENS_PER_SECOND, slack_edits_per_minute=50
    ) as c:
        slack, nf = c.slack, c.neuroflash

        def generate(user_text: str) -> str:
            nf.llm_runs += 1
            return answer(user_text)

        nf.generate = generate  # type: ignore[method-assign]
        await c.start(1)
        roots = [
            await slack.user_post(channel(i), f"<@{slack.bot_user_id}> q{i}")
            for i in range(REPLIES)
        ]

        def shown(i: int) -> str:
            return "".join(m.text for m in slack.bot_replies(channel(i), roots[i]))

        await wait_until(
            lambda: all(shown(i) == answer(f"q{i}") for i in range(REPLIES)), 120, "every reply"
        )
        wall = time.time() - time.monotonic()  # provider calls: monotonic; Slack: wall clock
        asked = {c.body["text"]: wall + c.at for c in nf.calls_to("message-streams", "POST")}
        late = {}
        for i in range(REPLIES):
            text = answer(f"q{i}")
            done = asked[f"q{i}"] + len(split_tokens(text)) / TOKENS_PER_SECOND
            (message,) = slack.bot_replies(channel(i), roots[i])
            visible = next(
                at for at, t in zip(message.edit_times, message.edits, strict=True) if t == text
            )
            if visible - done > FINAL_WITHIN:
                late[i] = round(visible - done, 2)
        assert not late, f"whole answers later than {FINAL_WITHIN}s after the last token: {late}"
        streamed = [c for c in slack.calls if c.path == "/api/chat.startStream"]
        assert len(streamed) == 5, "the Tier 2 burst opens five streams"
