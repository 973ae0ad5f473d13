"""What reading the thread costs a late mention: time to first text with and without context.

Runs an in-process bridge (real Redis, slack-bolt, the Slack and neuroflash emulators on
loopback, as the end-to-end tests do) and mentions the bot in fresh threads of 50 earlier posts
by 5 people, once with BRIDGE_CONTEXT_POSTS=50 and once with 0; first text is the wall time of
the bot's first message in the thread (a native stream opens with the first text). Slack's
pace is lifted (its Tier 3 50/min would make a loop this fast wait for permits). Prints
p50/p99 of both, and of the history fetch itself (as `bridge.context` logs it). Needs Redis
(REDIS_URL, else 127.0.0.1:6379).

    .venv/bin/python scripts/context_latency.py [rounds]
"""

from __future__ import annotations

import asyncio
import logging
import os
import statistics
import sys
import time
import uuid

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from emulators.slack.state import Message
from tests.harness import Env, slack_bridge

CHANNEL = "C1"
PEOPLE = {f"U{n}": f"Person {n}" for n in range(1, 6)}


class Fetches(logging.Handler):
    """The history fetch durations `bridge.context` logs (at debug), in seconds."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.seconds: list[float] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.msg.startswith("thread history of") and "posts in" in record.msg:
            self.seconds.append(float(record.args[2]))  # type: ignore[index]


def seed(env: Env, count: int) -> str:
    space = env.slack.workspace
    root = space.next_ts()
    for n in range(count):
        user = f"U{n % 5 + 1}"
        ts = root if n == 0 else space.next_ts()
        text = f"post {n}: " + "words " * 20
        space.add(Message(CHANNEL, ts, user, text, thread_ts=None if n == 0 else root))
    return root


async def first_text(env: Env, root: str) -> float:
    """Seconds from the mention to the bot's first message in the thread."""
    sent = time.time()
    await env.slack.user_post(CHANNEL, "<@UBOT> so?", "U9", thread_ts=root)
    await env.wait(lambda: bool(env.replies(CHANNEL, root)), 10.0)
    return env.replies(CHANNEL, root)[0].edit_times[0] - sent


async def run(posts: int, rounds: int) -> list[float]:
    redis_url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    prefix = f"ctxbench:{uuid.uuid4().hex[:8]}:"
    found = []
    values = {"bridge_context_posts": posts, "slack_history_calls_per_minute": 6000}
    async with slack_bridge(redis_url, prefix, **values) as env:
        for user, name in {**PEOPLE, "U9": "Asker"}.items():
            env.slack.add_user(user, name)
        env.neuroflash.script(*["Answer."] * (rounds + 2))
        await first_text(env, seed(env, 50))  # warm-up: connections, users.info answers
        for _ in range(rounds):
            found.append(await first_text(env, seed(env, 50)))
    return found


def quantiles(values: list[float]) -> str:
    ordered = sorted(values)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return f"p50 {statistics.median(ordered) * 1000:7.1f} ms   p99 {p99 * 1000:7.1f} ms"


async def main(rounds: int) -> None:
    fetches = Fetches()
    logger = logging.getLogger("bridge.context")
    logger.setLevel(logging.DEBUG)
    logger.addHandler(fetches)
    plain = await run(0, rounds)
    context = await run(50, rounds)
    added = [c - p for c, p in zip(sorted(context), sorted(plain), strict=True)]
    print(f"first text, no context   ({rounds} mentions): {quantiles(plain)}")
    print(f"first text, 50 earlier   ({rounds} mentions): {quantiles(context)}")
    print(f"added (quantile by quantile):            {quantiles(added)}")
    # Slack delivers each mention twice; the later delivery waits for the first's read.
    seen = fetches.seconds
    each = [max(seen[i : i + 2]) for i in range(0, len(seen), 2)]
    print(f"the history fetch itself ({len(each)} mentions): {quantiles(each)}")


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 50))
