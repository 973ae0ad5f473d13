"""End to end: Mattermost threads become neuroflash conversations, streamed live.

Real Redis, real aiohttp (REST and WebSocket), real httpx-sse, the bridge's runtime; the
Mattermost server and neuroflash are emulators on loopback.
"""

from __future__ import annotations

from adapters.mattermost.format import WORD_JOINER
from bridge.split import open_fence
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
