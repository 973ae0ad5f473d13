"""Durability with real processes.

Every bridge here is a separate `threadbridge run` process (tests/procs.py) on real Redis, killed
with SIGKILL or SIGTERM for real; Slack, Discord and neuroflash are emulators in the test's loop.
`pytest -s` shows the figures each test measures.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from bridge.config import load_settings
from bridge.contracts import ThreadKey
from bridge.redis_conn import connect
from emulators.base import Call
from emulators.neuroflash.state import default_reply
from tests.harness import rate_for
from tests.procs import Cluster, cluster, redis_server, wait_until

pytestmark = pytest.mark.alone
"""Timing under enforced rate limits: run when no other test file loads the machine."""

CHANNEL = "C1"
MENTION = "<@UBOT>"
LEASE = 4.0


@dataclass
class Talk:
    """One person's posts in one thread; `where` is the Slack root ts or the Discord thread id."""

    platform: str
    texts: list[str]
    where: str = ""

    def expected(self) -> list[str]:
        """The emulator's default answer names the post it answers, so order is checkable."""
        return [default_reply(text) for text in self.texts]

    def replies(self, c: Cluster) -> list[str]:
        if not self.where:
            return []
        if self.platform == "slack":
            return [m.text for m in c.slack.bot_replies(CHANNEL, self.where)]
        return [m.content for m in c.discord.bot_messages(int(self.where))]

    def done(self, c: Cluster) -> bool:
        return self.replies(c) == self.expected()


def talks(platform: str, count: int, posts: int, tag: str) -> list[Talk]:
    return [
        Talk(platform, [f"{tag}{i:02d} post {k} of thread {i}" for k in range(posts)])
        for i in range(count)
    ]


async def slack_post(c: Cluster, text: str, thread_ts: str | None = None, retries: int = 0) -> str:
    """Post as a person; like Slack, deliver again (retry_num 1, 2, …) what was not acked."""
    ts = await c.slack.user_post(CHANNEL, text, thread_ts=thread_ts, wait=True)
    for delivery in [d for d in c.slack.deliveries if d.event.get("ts") == ts]:
        attempt = 0
        acked = delivery.acked
        while not acked and attempt < retries:
            attempt += 1
            await asyncio.sleep(0.5)
            acked = bool(
                await c.slack.deliver(
                    delivery.event, delivery.event_id, retry_num=attempt, retry_reason="timeout"
                )
            )
        assert acked, f"Slack event for {text!r} was never acked"
    return ts


async def run_slack(c: Cluster, talk: Talk, retries: int = 0) -> None:
    """The thread's posts, each one after the previous was acked (so accepted in order)."""
    talk.where = await slack_post(c, f"{MENTION} {talk.texts[0]}", retries=retries)
    for text in talk.texts[1:]:
        await slack_post(c, text, thread_ts=talk.where, retries=retries)


async def run_discord(c: Cluster, talk: Talk, channel_id: int) -> None:
    """A mention opens the thread; follow-ups go in it, each once the previous was accepted."""
    emu = c.discord
    first = await emu.user_message(channel_id, talk.texts[0], mentions_bot=True)
    key = ThreadKey("discord", str(emu.guild.id), str(channel_id), str(first.id))
    talk.where = str(first.id)
    await c.wait_accepted(key, str(first.id), timeout=60)
    if len(talk.texts) > 1:
        await wait_until(lambda: bool(emu.bot_messages(first.id)), 60, "the bot's thread")
    for text in talk.texts[1:]:
        message = await emu.user_message(first.id, text)
        await c.wait_accepted(key, str(message.id), timeout=60)


def streams(c: Cluster) -> list[Call]:
    """The stream requests neuroflash got; each replica signs them with its own token."""
    return c.neuroflash.calls_to("message-streams", "POST")


async def barrier(c: Cluster, every: list[Talk]) -> None:
    """One more post in each thread, and wait until each of them is answered.

    A thread's posts are answered in order, one holder of its lease at a time, so by then
    whatever its earlier posts could still cause has happened: a tally taken after this may
    say that nothing more did (a sleep could only hope so).
    """

    async def one_more(talk: Talk) -> None:
        text = f"one more post in {talk.where}"
        talk.texts.append(text)
        if talk.platform == "slack":
            await slack_post(c, text, thread_ts=talk.where)
        else:
            await c.discord.user_message(int(talk.where), text)

    await asyncio.gather(*(one_more(t) for t in every))
    await wait_until(
        lambda: all(t.replies(c)[-1:] == t.expected()[-1:] for t in every),
        60,
        "every barrier post answered",
    )


def rooms(c: Cluster, count: int) -> list[int]:
    """Text channels for Discord threads (thread creation is paced per parent channel)."""
    return [c.discord.create_text_channel(None, f"room-{i}").id for i in range(count)]


@dataclass
class Tally:
    posts: int = 0
    replies: int = 0
    duplicates: int = 0
    lost: int = 0
    misordered: int = 0
    wrong: list[str] = field(default_factory=list)


def tally(c: Cluster, all_talks: list[Talk]) -> Tally:
    """Count replies against what each thread should show, in order."""
    result = Tally()
    for talk in all_talks:
        got, want = talk.replies(c), talk.expected()
        result.posts += len(want)
        result.replies += len(got)
        result.duplicates += sum(max(0, got.count(w) - 1) for w in want)
        result.lost += sum(1 for w in want if w not in got)
        unique = list(dict.fromkeys(got))
        result.misordered += int(unique != [w for w in want if w in got])
        if got != want:
            result.wrong.append(f"{talk.platform} {talk.where}: {got!r}")
    return result


async def test_two_replicas_answer_200_posts_once_each_in_order(
    redis_url: str, prefix: str, tmp_path: Path
) -> None:
    async with cluster(redis_url, prefix, tmp_path) as c:
        channels = rooms(c, 5)
        replicas = await c.start(2)
        slack_talks = talks("slack", 25, 4, "s")
        discord_talks = talks("discord", 25, 4, "d")
        began = time.monotonic()
        await asyncio.gather(
            *(run_slack(c, t) for t in slack_talks),
            *(run_discord(c, t, channels[i % 5]) for i, t in enumerate(discord_talks)),
        )
        every = slack_talks + discord_talks
        await wait_until(lambda: all(t.done(c) for t in every), 120, "all 200 replies final")
        wall = time.monotonic() - began
        await barrier(c, every)
        result = tally(c, every)
        signers = Counter(call.headers.get("Authorization") for call in streams(c))
        per_replica = sorted(signers.values())
        print(
            f"\n[durability] 2 replicas: posts={result.posts} replies={result.replies} "
            f"duplicates={result.duplicates} lost={result.lost} misordered={result.misordered} "
            f"llm_runs={c.neuroflash.llm_runs} wall={wall:.1f}s streams per replica={per_replica}"
        )
        assert result.wrong == [], c.replicas.logs()
        posts = 200 + len(every)
        assert (result.posts, result.replies) == (posts, posts)
        assert (result.duplicates, result.lost) == (0, 0)
        assert c.neuroflash.llm_runs == posts
        assert len(c.neuroflash.conversations) == 50
        assert len(per_replica) == 2, "both replicas should have answered posts"
        assert all(r.alive for r in replicas)


def long_answer(tag: str) -> str:
    line = f"{tag}: a line of the answer — naïve café ✓ 👩‍💻, still going"
    return "\n".join(f"{line} ({i})." for i in range(12))


async def test_kill_9_mid_stream_is_finished_by_the_other_replica(
    redis_url: str, prefix: str, tmp_path: Path
) -> None:
    slack_text, discord_text = long_answer("Slack"), long_answer("Discord")
    rate = rate_for(slack_text, 14.0)
    async with cluster(redis_url, prefix, tmp_path, tokens_per_second=rate) as c:
        (first,) = await c.start(1)
        nf = c.neuroflash
        nf.script(slack_text)
        root = await slack_post(c, f"{MENTION} tell me at length")
        await wait_until(lambda: nf.llm_runs == 1, 20, "the Slack stream")
        nf.script(discord_text)
        post = await c.discord.user_message(c.discord.channel.id, "and here", mentions_bot=True)
        await wait_until(lambda: nf.llm_runs == 2, 20, "the Discord stream")

        def slack_message() -> str:
            (message,) = c.slack.bot_replies(CHANNEL, root)
            return message.text

        def discord_message() -> str:
            (message,) = c.discord.bot_messages(post.id)
            return message.content

        def streaming() -> bool:
            try:
                texts = slack_message(), discord_message()
            except ValueError:
                return False
            return all(t != "" for t in texts)

        await wait_until(streaming, 20, "both replies visibly streaming")
        await c.start(1)
        slack_ts = c.slack.bot_replies(CHANNEL, root)[0].ts
        discord_id = c.discord.bot_messages(post.id)[0].id
        shown = slack_message(), discord_message()
        assert shown[0] != slack_text and shown[1] != discord_text, "the replies ended too soon"

        await first.kill()
        killed = time.monotonic()
        nf.tokens_per_second = 400.0
        await wait_until(lambda: slack_message() == slack_text, LEASE + 8, "Slack takeover")
        slack_delay = time.monotonic() - killed
        await wait_until(lambda: discord_message() == discord_text, LEASE + 8, "Discord takeover")
        discord_delay = time.monotonic() - killed
        print(
            f"\n[durability] kill -9 takeover: lease={LEASE}s final text after "
            f"slack={slack_delay:.1f}s discord={discord_delay:.1f}s; shown before the kill "
            f"{len(shown[0])}/{len(slack_text)} and {len(shown[1])}/{len(discord_text)} chars; "
            f"llm_runs={nf.llm_runs} stream requests={len(streams(c))}"
        )
        threads = [
            Talk("slack", ["tell me at length"], root),
            Talk("discord", ["and here"], str(post.id)),
        ]
        await barrier(c, threads)
        slack_later, discord_later = (t.expected()[-1] for t in threads)
        slack_replies = [(m.ts, m.text) for m in c.slack.bot_replies(CHANNEL, root)]
        assert slack_replies[0] == (slack_ts, slack_text) and len(slack_replies) == 2
        started = [call.body["channel"] for call in c.slack.calls_to("chat.startStream")]
        assert started == [CHANNEL] * 2, "the Slack reply was not a native stream"
        discord_replies = [(m.id, m.content) for m in c.discord.bot_messages(post.id)]
        assert discord_replies[0] == (discord_id, discord_text) and len(discord_replies) == 2
        assert [slack_replies[1][1], discord_replies[1][1]] == [slack_later, discord_later]
        assert nf.llm_runs == 4


@pytest.mark.parametrize("crash", [False, True], ids=["restart", "crash"])
async def test_redis_restart_mid_load_loses_and_doubles_nothing(
    prefix: str, tmp_path: Path, crash: bool
) -> None:
    async with (
        redis_server(tmp_path) as server,
        cluster(server.url, prefix, tmp_path, tokens_per_second=40.0) as c,
    ):
        c.slack.deliver_timeout = 3.0
        channels = rooms(c, 4)
        await c.start(2)
        slack_talks = talks("slack", 12, 2, "r")
        discord_talks = talks("discord", 12, 1, "q")

        async def post_all() -> None:
            jobs = []
            for i, (s, d) in enumerate(zip(slack_talks, discord_talks, strict=True)):
                jobs.append(asyncio.create_task(run_slack(c, s, retries=6)))
                jobs.append(asyncio.create_task(run_discord(c, d, channels[i % 4])))
                await asyncio.sleep(0.3)
            await asyncio.gather(*jobs)

        posting = asyncio.create_task(post_all())
        await wait_until(lambda: len(streams(c)) >= 4, 20, "the first replies streaming")
        began = time.monotonic()
        await server.restart(downtime=2.0, crash=crash)
        outage = time.monotonic() - began
        await posting
        every = slack_talks + discord_talks
        await wait_until(lambda: all(t.done(c) for t in every), 90, "every post answered")
        recovered = time.monotonic() - began
        await barrier(c, every)
        result = tally(c, every)
        print(
            f"\n[durability] Redis {'crash' if crash else 'restart'}: down {outage:.1f}s, "
            f"posts={result.posts} "
            f"replies={result.replies} duplicates={result.duplicates} lost={result.lost} "
            f"llm_runs={c.neuroflash.llm_runs} all final {recovered:.1f}s after the restart began, "
            f"Slack redeliveries={sum(d.retry_num > 0 for d in c.slack.deliveries)}"
        )
        assert result.wrong == [], c.replicas.logs()
        assert (result.replies, result.duplicates, result.lost) == (result.posts, 0, 0)
        assert c.neuroflash.llm_runs == result.posts
        assert all(r.alive for r in c.replicas.all)


@pytest.mark.parametrize("grace", [20.0, 1.5], ids=["replies-finish", "replies-handed-over"])
async def test_sigterm_during_20_replies_ends_each_once_and_exits_0(
    redis_url: str, prefix: str, tmp_path: Path, grace: float
) -> None:
    """With a long grace the running replies finish and only queued posts move to the other
    replica; with a short one the running replies move too, and end in the same messages."""
    rate = rate_for(default_reply("x00 post 0 of thread 0"), 12.0)
    async with cluster(redis_url, prefix, tmp_path, tokens_per_second=rate) as c:
        c.replicas.env["BRIDGE_SHUTDOWN_SECONDS"] = str(grace)
        channels = rooms(c, 5)
        (first,) = await c.start(1)
        slack_talks = talks("slack", 10, 1, "x")
        discord_talks = talks("discord", 10, 1, "y")
        for talk in slack_talks[:3] + discord_talks[:3]:
            talk.texts.append(talk.texts[0].replace("post 0", "post 1"))
        every = slack_talks + discord_talks

        def streaming(talk: Talk) -> bool:
            got = talk.replies(c)
            return bool(got) and got[0].startswith("You wrote") and got[0] != talk.expected()[0]

        await asyncio.gather(
            *(run_slack(c, t) for t in slack_talks),
            *(run_discord(c, t, channels[i % 5]) for i, t in enumerate(discord_talks)),
        )
        await wait_until(lambda: all(streaming(t) for t in every), 20, "20 replies streaming")
        first_tokens = {call.headers.get("Authorization") for call in streams(c)}
        await c.start(1)
        assert all(streaming(t) for t in every), "replies ended before the SIGTERM"

        termed = time.monotonic()
        code = await first.terminate(timeout=40)
        exited = time.monotonic() - termed
        c.neuroflash.tokens_per_second = 400.0
        await wait_until(lambda: all(t.done(c) for t in every), 40, "every reply final")
        queued = [t.texts[1] for t in every if len(t.texts) > 1]
        running = [t.texts[0] for t in every] if grace < 12.0 else []
        await barrier(c, every)
        later = [t.texts[-1] for t in every]
        result = tally(c, every)
        handed = [
            call.body["text"]
            for call in streams(c)
            if call.headers.get("Authorization") not in first_tokens
        ]
        print(
            f"\n[durability] SIGTERM with 20 replies running, grace {grace}s: exit code {code} "
            f"after {exited:.1f}s, posts={result.posts} replies={result.replies} "
            f"duplicates={result.duplicates} lost={result.lost}, handed over={len(set(handed))}"
        )
        assert code == 0, first.tail()
        assert "letting running replies finish" in first.log()
        assert result.wrong == [], c.replicas.logs()
        posts = 26 + len(later)
        assert (result.posts, result.replies) == (posts, posts)
        assert (result.duplicates, result.lost) == (0, 0)
        assert c.neuroflash.llm_runs == posts
        assert set(handed) == set(queued + running + later), (
            "a 409 while the old stream ends is retried"
        )


async def test_slack_retry_after_the_answer_gets_no_second_reply(
    redis_url: str, prefix: str, tmp_path: Path
) -> None:
    async with cluster(redis_url, prefix, tmp_path) as c:
        (first,) = await c.start(1)
        nf = c.neuroflash
        talk = Talk("slack", ["answer me once"])
        await run_slack(c, talk)
        await wait_until(lambda: talk.done(c), 20, "the answer")
        originals = [d for d in c.slack.deliveries if d.event.get("ts") == talk.where]

        async def redeliver(retry_num: int) -> None:
            for d in originals:
                acked = await c.slack.deliver(d.event, d.event_id, retry_num, "timeout")
                assert acked, "a retried event must be acked, not refused"

        await redeliver(1)
        await barrier(c, [talk])
        assert talk.replies(c) == talk.expected()
        assert nf.llm_runs == 2 and len(streams(c)) == 2

        assert await first.terminate() == 0
        await c.start(1)
        await redeliver(2)
        follow = "and a real follow-up"
        talk.texts.append(follow)
        await slack_post(c, follow, thread_ts=talk.where)
        await wait_until(lambda: talk.done(c), 20, "the follow-up's answer")
        assert talk.replies(c) == talk.expected()
        assert nf.llm_runs == 3 and len(streams(c)) == 3
        print(f"\n[durability] retried Slack event: {len(originals)} events x 2 retries, 0 replies")


async def test_a_task_cancelled_during_a_redis_command_stops(redis_url: str) -> None:
    """The bridge's Redis client lets cancellation through (see `honour_cancellation`): without
    it, most of these cancellations vanish on Python 3.11 and a renderer deadlocks at its end."""
    handle = await connect(load_settings(_env_file=None, redis_url=redis_url))
    ignored = 0

    async def busy(cancelled: asyncio.Event) -> bool:
        while not cancelled.is_set():
            await handle.client.eval("return 1", 0)
        return True

    try:
        for attempt in range(200):
            cancelled = asyncio.Event()
            task = asyncio.create_task(busy(cancelled))
            await asyncio.sleep(0.0005 * (attempt % 4))
            cancelled.set()
            task.cancel()
            (outcome,) = await asyncio.gather(task, return_exceptions=True)
            ignored += outcome is True
    finally:
        await handle.aclose()
    assert ignored == 0, f"{ignored} of 200 cancellations were swallowed"
