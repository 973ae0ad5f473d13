"""50 Discord mentions at once, with Discord's per-route buckets and its global limit
enforced by the emulator. Thread creation and first texts go before any interim edit can
take the global budget from them: no reply's second interim edit comes before the last reply's
first text, and no request is answered 429.
"""

from __future__ import annotations

import asyncio
import re

import pytest

from emulators.base import Call
from tests.harness import discord_bridge

pytestmark = pytest.mark.alone
"""Timing under enforced rate limits: run when no other test file loads the machine."""

MENTIONS = 50
TOKENS_PER_SECOND = 40.0


def answer(question: str) -> str:
    """About eight seconds of text at TOKENS_PER_SECOND, different for every thread."""
    number = re.search(r"\d+", question)
    line = f"Answer {number.group() if number else '?'}: a sentence with naïve café words. "
    return line * 14 + "Done ✅"


async def test_50_mentions_first_texts_before_any_second_interim_edit(
    redis_url: str, prefix: str
) -> None:
    async with discord_bridge(redis_url, prefix, tokens_per_second=TOKENS_PER_SECOND) as env:
        emu, nf = env.discord, env.neuroflash
        emu.enforce_limits(per_channel=5, per_seconds=5.0, global_per_second=50)

        def generate(user_text: str) -> str:
            nf.llm_runs += 1
            return answer(user_text)

        nf.generate = generate  # type: ignore[method-assign]
        rooms = [emu.create_text_channel(None, f"room-{i}").id for i in range(MENTIONS)]
        posts = await asyncio.gather(
            *(
                emu.user_message(room, f"question {i}", mentions_bot=True)
                for i, room in enumerate(rooms)
            )
        )
        expected = {p.id: answer(f"question {i}") for i, p in enumerate(posts)}
        await env.wait(
            lambda: all(env.discord_text(pid) == text for pid, text in expected.items()),
            timeout=90,
        )
        assert emu.rate_limited == 0, dict(emu.rate_limited_by_route)

        calls = list(emu.calls)
        firsts: list[float] = []
        seconds: list[float] = []
        for pid, text in expected.items():
            mine = [c for c in calls if f"/channels/{pid}/messages" in c.path]
            creates = [c for c in mine if c.method == "POST" and _content(c)]
            firsts.append(creates[0].at)
            interim = [c for c in mine if c.method == "PATCH" and _content(c) != text]
            if len(interim) >= 2:
                seconds.append(interim[1].at)
        start = min(firsts)
        print(
            f"\n[discord busy] last first text +{max(firsts) - start:.2f}s, "
            f"earliest second interim edit +{min(seconds) - start:.2f}s"
        )
        assert seconds, "no reply made two interim edits: the test proves nothing"
        assert max(firsts) < min(seconds)


def _content(call: Call) -> str | None:
    body = call.body if isinstance(call.body, dict) else {}
    content = body.get("content")
    return content if isinstance(content, str) and content else None
