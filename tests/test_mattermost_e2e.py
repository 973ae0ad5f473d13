"""End to end: Mattermost threads become neuroflash conversations, streamed live.

Real Redis, real aiohttp (REST and WebSocket), real httpx-sse, the bridge's runtime; the
Mattermost server and neuroflash are emulators on loopback.
"""

from __future__ import annotations

import asyncio

from adapters.mattermost.format import WORD_JOINER
from bridge.contracts import Connected
from bridge.contracts.toolkit.split import open_fence
from emulators.base import Fault
from emulators.neuroflash.state import default_reply
from tests.harness import BARRIER, rate_for
from tests.mattermost_env import MM, mattermost_bridge


async def barrier(mm: MM, root: str) -> None:
    """One more post in the thread, answered: whatever came before was taken in and answered."""
    before = len(mm.emu.bot_posts(root))
    mm.env.neuroflash.script("Barrier answer.")
    await mm.emu.user_post(mm.emu.channel.id, BARRIER, root)
    await mm.wait(
        lambda: mm.text(root).endswith("Barrier answer.") and len(mm.emu.bot_posts(root)) > before
    )


async def test_mention_starts_a_thread_that_grows_in_place(redis_url: str, prefix: str) -> None:
    text = "Streaming 😀 slowly:\n\n```py\nprint('@channel stays')\n```\n\nThat was it — done. ✓"
    async with mattermost_bridge(redis_url, prefix, tokens_per_second=rate_for(text, 4.0)) as mm:
        emu = mm.emu
        mm.env.neuroflash.script(text, "Second.", "Third.")
        root = await emu.mention(emu.channel.id, "explain streaming please")
        await mm.wait_text(root, text, timeout=30)
        (reply,) = emu.bot_posts(root.id)
        assert reply.root_id == root.id and reply.props.get("from_bot") == "true"
        writes = [m for _, m in emu.writes()]
        assert writes[-1] == text and len(set(writes)) >= 3
        assert all(open_fence(w) is None for w in writes)
        assert emu.calls_to(f"/api/v4/posts/{reply.id}/patch", "PUT")
        assert mm.streams() == ["explain streaming please"]
        await emu.user_post(emu.channel.id, "follow-up without mention", root.id)
        await mm.wait_text(root, text + "Second.")
        await emu.user_post(emu.channel.id, "another one", root.id)
        await mm.wait_text(root, text + "Second." + "Third.")
        assert len(mm.env.neuroflash.conversations) == 1
        assert mm.streams()[1:] == ["follow-up without mention", "another one"]


async def test_direct_message_threads_need_no_mention(redis_url: str, prefix: str) -> None:
    async with mattermost_bridge(redis_url, prefix) as mm:
        emu = mm.emu
        dm = emu.dm_channel()
        mm.env.neuroflash.script("One.", "Two.", "Other thread.")
        first = await emu.user_post(dm.id, "hi")
        await mm.wait_text(first, "One.")
        await emu.user_post(dm.id, "more", first.id)
        await mm.wait_text(first, "One.Two.")
        second = await emu.user_post(dm.id, "a new root post")
        await mm.wait_text(second, "Other thread.")
        assert len(mm.env.neuroflash.conversations) == 2


async def test_bots_system_posts_and_duplicates_get_no_reply(redis_url: str, prefix: str) -> None:
    async with mattermost_bridge(redis_url, prefix) as mm:
        emu = mm.emu
        mm.env.neuroflash.script("Hello.")
        root = await emu.mention(emu.channel.id, "hi")
        await mm.wait_text(root, "Hello.")
        await emu.announce(root)
        await emu.announce(root)
        await emu.other_bot_post(emu.channel.id, "@threadbot I am a bot", root.id)
        await emu.other_bot_post(emu.channel.id, "@threadbot also a bot")
        await emu.system_post(emu.channel.id, "@threadbot joined the channel")
        await emu.user_post(emu.channel.id, "no mention, no thread")
        await barrier(mm, root.id)
        assert mm.streams() == ["hi", BARRIER]
        assert len(mm.env.neuroflash.conversations) == 1


async def test_long_reply_is_split_into_posts(redis_url: str, prefix: str) -> None:
    code = "```python\n" + "".join(f"total += {i}\n" for i in range(40)) + "```\n\n"
    para = "This paragraph explains the code above in some detail. " * 8 + "\n\n"
    text = ((para * 3 + code) * 3 + para * 4)[:7000]
    emu_size = 2500
    from emulators.mattermost import MattermostEmulator

    emu = MattermostEmulator(max_post_size=emu_size)
    async with mattermost_bridge(redis_url, prefix, emu, tokens_per_second=3000) as mm:
        mm.env.neuroflash.script(text)
        root = await emu.mention(emu.channel.id, "long one")
        await mm.wait_text(root, text, timeout=30)
        pages = [p.message for p in emu.bot_posts(root.id)]
        assert len(pages) >= 3 and all(len(p) <= emu_size for p in pages)
        assert all(open_fence(p) is None for p in pages)
        assert emu.calls_to("/api/v4/config/client", "GET")


async def test_model_mentions_are_neutralised_outside_code(redis_url: str, prefix: str) -> None:
    text = "Hey @channel and @all, @here: ask @alice.\n\n```\n@channel in code\n```\nmail a@b.io"
    async with mattermost_bridge(redis_url, prefix) as mm:
        emu = mm.emu
        mm.env.neuroflash.script(text)
        root = await emu.mention(emu.channel.id, "ping everyone")
        j = WORD_JOINER
        shown = (
            f"Hey @{j}channel and @{j}all, @{j}here: ask @{j}alice.\n\n"
            "```\n@channel in code\n```\nmail a@b.io"
        )
        await mm.wait_text(root, shown)
        assert shown.replace(j, "") == text


STOPPED = "> ⏹️ Stopped."
LONG = " ".join(f"word{i}" for i in range(400))


def stopped_text(text: str) -> bool:
    """The reply ends with the stop notice and keeps a non-empty prefix of the answer."""
    body, _, note = text.rpartition("\n\n")
    return note == STOPPED and bool(body) and LONG.startswith(body)


async def test_stop_reaction_on_the_reply_stops_it(redis_url: str, prefix: str) -> None:
    async with mattermost_bridge(redis_url, prefix, tokens_per_second=20.0) as mm:
        emu = mm.emu
        mm.env.neuroflash.hold = asyncio.Event()  # running until stopped, however slow
        mm.env.neuroflash.script(LONG)
        root = await emu.mention(emu.channel.id, "talk for long")
        await mm.wait(lambda: len(mm.text(root)) > 20)
        (reply,) = emu.bot_posts(root.id)
        await emu.react(reply.id, "octagonal_sign")
        await mm.wait(lambda: stopped_text(reply.message))
        assert mm.env.neuroflash.calls_to("message-streams", "DELETE")
        assert [p.id for p in emu.bot_posts(root.id)] == [reply.id]


async def test_stop_in_the_thread_stops_the_reply(redis_url: str, prefix: str) -> None:
    async with mattermost_bridge(redis_url, prefix, tokens_per_second=20.0) as mm:
        emu = mm.emu
        mm.env.neuroflash.hold = asyncio.Event()
        mm.env.neuroflash.script(LONG)
        root = await emu.mention(emu.channel.id, "talk for long")
        await mm.wait(lambda: len(mm.text(root)) > 20)
        (reply,) = emu.bot_posts(root.id)
        stop = await emu.user_post(emu.channel.id, "stop", root.id)
        await mm.wait(lambda: stopped_text(reply.message))
        await mm.wait(
            lambda: any(
                r.post_id == stop.id and r.emoji_name == "octagonal_sign"
                for r in emu.server.reactions
            )
        )
        assert mm.streams() == ["talk for long"]


async def test_429_storm_waits_and_loses_nothing(redis_url: str, prefix: str) -> None:
    text = "A reply written through a storm of rate limits, every word of it kept. " * 3
    async with mattermost_bridge(redis_url, prefix, tokens_per_second=rate_for(text, 2)) as mm:
        emu = mm.emu
        mm.env.neuroflash.script(text)
        emu.storm(6)
        root = await emu.mention(emu.channel.id, "storm")
        await mm.wait_text(root, text, timeout=40)
        assert emu.rate_limited == 12  # six on the post, six on its edits
        assert len(emu.bot_posts(root.id)) == 1
        metrics = mm.env.runtime.metrics
        for method in ("POST /posts", "PUT /posts/:id/patch"):
            labels = {"platform": "mattermost", "method": method}
            assert metrics.value("messenger_rate_limited_total", **labels) == 6


async def test_server_errors_are_retried_without_a_second_post(redis_url: str, prefix: str) -> None:
    async with mattermost_bridge(redis_url, prefix) as mm:
        emu = mm.emu
        emu.fail_next("create_post", Fault("status", 502), times=2)
        emu.fail_next("patch_post", Fault("status", 503), times=2)
        mm.env.neuroflash.script("Through the errors.")
        root = await emu.mention(emu.channel.id, "flaky")
        await mm.wait_text(root, "Through the errors.")
        assert len(emu.bot_posts(root.id)) == 1


async def test_ten_threads_under_the_server_limiter_meet_no_429(
    redis_url: str, prefix: str
) -> None:
    async with mattermost_bridge(
        redis_url, prefix, tokens_per_second=60, mm_vars={"MATTERMOST_BURST": "20"}
    ) as mm:
        emu = mm.emu
        emu.limit(10.0, burst=20)
        answers = [f"Answer number {i}: " + "word " * 40 for i in range(10)]
        mm.env.neuroflash.script(*answers)
        roots = await asyncio.gather(
            *(emu.mention(emu.channel.id, f"question {i}") for i in range(10))
        )
        await mm.wait(lambda: sorted(mm.text(r) for r in roots) == sorted(answers), timeout=60)
        assert emu.limiter.refused == 0 and emu.rate_limited == 0


async def disconnected(mm: MM, timeout: float = 20.0) -> None:
    """Until the adapter says (as /readyz asks it) that its WebSocket is down."""
    (adapter,) = mm.env.runtime.adapters
    assert isinstance(adapter, Connected)
    for _ in range(int(timeout / 0.05)):
        if not await adapter.connected():
            return
        await asyncio.sleep(0.05)
    raise TimeoutError("the adapter still says it is connected")


async def test_socket_drop_mid_reply_and_posts_made_meanwhile(redis_url: str, prefix: str) -> None:
    """The socket drops while a reply streams and stays down while two posts arrive: the
    reply still finishes, and both posts are read by REST after the reconnect, once each."""
    text = "A reply that takes a while to arrive, across a WebSocket drop. " * 3
    async with mattermost_bridge(redis_url, prefix, tokens_per_second=rate_for(text, 3)) as mm:
        emu = mm.emu
        mm.env.neuroflash.script(text)
        root = await emu.mention(emu.channel.id, "go")
        await mm.wait(lambda: len(mm.text(root)) > 40)
        emu.refuse_sockets = True
        await emu.drop_sockets()
        await disconnected(mm)
        missed = "posted while the socket was down"
        await emu.user_post(emu.channel.id, missed, root.id)
        other = await emu.mention(emu.channel.id, "a mention nobody heard")
        await asyncio.sleep(0.5)
        emu.refuse_sockets = False
        await mm.wait(lambda: emu.connects >= 2, timeout=30)
        await mm.wait_text(root, text + default_reply(missed), timeout=30)
        await mm.wait_text(other, default_reply("a mention nobody heard"), timeout=30)
        await emu.drop_sockets()
        await mm.wait(lambda: emu.connects >= 3, timeout=30)
        await barrier(mm, root.id)
        assert sorted(mm.streams()) == sorted(["go", missed, "a mention nobody heard", BARRIER])
