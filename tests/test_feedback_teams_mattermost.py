"""Thumbs up/down on Teams and Mattermost replies, end to end: Teams' feedback loop on the
reply's last message (a channel thread's post + edit and a personal chat's stream) pressed as a
`message/submitAction` invoke, and a 👍/👎 reaction on a Mattermost reply. Each press names only
the bot message: it is kept under the post the reply answers, counted, listed by `threadbridge
feedback list`, and refused once the thread is forgotten.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from redis.asyncio import Redis

from bridge.contracts import ThreadKey
from bridge.runtime import Runtime
from emulators.teams import CHANNEL
from tests.feedback_kit import Ratings, kept
from tests.mattermost_env import mattermost_bridge
from tests.teams_kit import teams_bridge

ANSWER = "A complete answer worth rating."


@pytest.mark.parametrize("chat", ["channel", "personal"])
async def test_teams_feedback_loop_kept_counted_listed_and_refused_after_forget(
    redis_url: str,
    prefix: str,
    chat: str,
    ratings_of: Callable[[Runtime], Ratings],
) -> None:
    async with teams_bridge(redis_url, prefix) as env:
        emu = env.teams
        assert env.runtime is not None
        ratings = ratings_of(env.runtime)
        env.neuroflash.script(ANSWER)
        if chat == "channel":
            root = await emu.channel_post("question")
            where, thread_root, post_id = CHANNEL, root.id, root.id
            thread = ThreadKey("teams", emu.auth.tenant, CHANNEL, root.id)
        else:
            conversation = emu.personal_chat()
            root = await emu.personal_message("question")
            where, thread_root, post_id = conversation, "", root.id
            thread = ThreadKey("teams", emu.auth.tenant, conversation, conversation)
        await env.wait(lambda: any(m.feedback for m in emu.bot_messages(where, thread_root)))
        (reply,) = emu.bot_messages(where, thread_root)
        assert reply.feedback == "default" and reply.text == ANSWER
        loops = [
            c.body["channelData"]
            for c in emu.calls
            if isinstance(c.body, dict) and "channelData" in c.body and c.body.get("text")
        ]
        assert loops == [{"feedbackLoop": {"type": "default"}}]

        status, body = await emu.press_feedback(reply, "like", "clear and short")
        assert status == 200 and body is None
        rating = await ratings.recorded(thread, post_id, "positive")
        assert rating["message"] == reply.id

        if chat == "channel":
            await emu.thread_reply(root.id, "/threadbridge forget confirm")
            await env.wait(lambda: "Forgotten" in emu.thread_text(root.id))
        else:
            await emu.personal_message("/threadbridge forget confirm")
            await env.wait(lambda: "Forgotten" in emu.chat_text(where))
        assert await ratings.kept(thread) == []
        status, _ = await emu.press_feedback(reply, "dislike")
        assert status == 200
        await ratings.refused(thread, "negative")


async def test_teams_feedback_press_is_authenticated(
    redis_url: str, prefix: str, redis: Redis
) -> None:
    async with teams_bridge(redis_url, prefix) as env:
        emu = env.teams
        env.neuroflash.script(ANSWER)
        root = await emu.channel_post("question")
        await env.wait(lambda: any(m.feedback for m in emu.bot_messages(CHANNEL, root.id)))
        (reply,) = emu.bot_messages(CHANNEL, root.id)
        press = emu.maker.feedback_press(reply, "like", "", "29:user-alex")
        status, _ = await emu.deliver(press, token="")
        assert status == 401
        thread = ThreadKey("teams", emu.auth.tenant, CHANNEL, root.id)
        assert await kept(redis, prefix, thread) == []


@pytest.mark.parametrize("admin_bot", [False, True])
async def test_mattermost_thumbs_kept_counted_listed_and_refused_after_forget(
    redis_url: str,
    prefix: str,
    admin_bot: bool,
    ratings_of: Callable[[Runtime], Ratings],
) -> None:
    async with mattermost_bridge(redis_url, prefix) as mm:
        emu = mm.emu
        ratings = ratings_of(mm.env.runtime)
        if admin_bot:
            emu.bot.roles = "system_user system_admin"
        mm.env.neuroflash.script(ANSWER)
        root = await emu.mention(emu.channel.id, "question")
        await mm.wait_text(root, ANSWER)
        (reply,) = emu.bot_posts(root.id)
        thread = ThreadKey("mattermost", emu.team_id, emu.channel.id, root.id)

        await emu.react(root.id, "+1")
        await emu.react(reply.id, "+1")
        await mm.wait(lambda: ratings.count("positive") == 1)
        rating = await ratings.recorded(thread, root.id, "positive")
        assert rating["message"] == reply.id
        tries = emu.calls_to("/api/v4/posts/ephemeral", "POST")
        if not admin_bot:
            assert len(tries) == 1 and emu.ephemerals == []
            return
        await mm.wait(lambda: len(emu.ephemerals) == 1)
        assert emu.ephemerals == [(emu.user.id, emu.channel.id, emu.ephemerals[0][2])]
        assert "Thanks" in emu.ephemerals[0][2]

        await mm.env.runtime.store.forget_thread(thread)
        await emu.react(reply.id, "-1")
        await mm.wait(lambda: len(emu.ephemerals) == 2)
        assert "forgotten" in emu.ephemerals[1][2]
        await ratings.refused(thread, "negative")
