"""End to end: Teams channel threads, group chats and personal chats become neuroflash
conversations, streamed live; forged activities are refused.

Real Redis, real aiohttp and PyJWT, the bridge's runtime; Teams and neuroflash are emulators.
"""

from __future__ import annotations

import asyncio
import itertools
import time

from adapters.teams.auth import REFRESH_EVERY
from adapters.teams.controls import CARD
from adapters.teams.format import WORD_JOINER
from bridge.contracts.toolkit.split import open_fence
from emulators.base import Fault
from emulators.teams import CHANNEL, GROUP
from tests.harness import BARRIER, rate_for
from tests.teams_kit import TeamsEnv, teams_bridge


def carded(attachments: list[dict[str, object]]) -> bool:
    return any(a.get("contentType") == CARD for a in attachments)


async def barrier(env: TeamsEnv) -> None:
    """A new mention answered: everything delivered before it was taken in (or refused)."""
    env.neuroflash.script("Barrier answer.")
    root = await env.teams.channel_post(BARRIER)
    await env.wait(lambda: env.teams.thread_text(root.id) == "Barrier answer.")


async def test_mention_opens_a_thread_that_grows_in_place(redis_url: str, prefix: str) -> None:
    text = "Streaming 😀 slowly:\n\n```js\nconsole.log('hi')\n```\n\nThat was it — done. ✓"
    async with teams_bridge(redis_url, prefix, tokens_per_second=rate_for(text, 4.0)) as env:
        emu = env.teams
        env.neuroflash.script(text, "Second.", "Third.")
        root = await emu.channel_post("Explain streaming please")
        await env.wait(lambda: any(carded(m.attachments) for m in emu.bot_messages(CHANNEL)))
        await env.wait(lambda: emu.thread_text(root.id) == text, timeout=30)
        (reply,) = emu.bot_messages(CHANNEL, root.id)
        await env.wait(lambda: not carded(reply.attachments))
        assert reply.root == root.id
        assert len(set(reply.history)) >= 3 and reply.history[-1] == text
        assert all(open_fence(h) is None for h in reply.history)
        posts = [c for c in emu.calls_to("/activities", "POST") if c.body.get("type") == "message"]
        assert all(c.path.endswith(f";messageid={root.id}/activities") for c in posts)
        assert emu.connector.mentions_sent == 0
        await emu.thread_reply(root.id, "follow-up without mention")
        await env.wait(lambda: emu.thread_text(root.id) == text + "Second.")
        await emu.thread_reply(root.id, "another one")
        await env.wait(lambda: emu.thread_text(root.id) == text + "Second." + "Third.")
        assert env.conversations() == 1
        assert env.streams() == [
            "Explain streaming please",
            "follow-up without mention",
            "another one",
        ]


async def test_channel_posts_without_a_mention_are_left_alone(redis_url: str, prefix: str) -> None:
    async with teams_bridge(redis_url, prefix) as env:
        await env.teams.channel_post("just chatting", mention=False)
        await barrier(env)
        assert env.streams() == [BARRIER]


async def test_personal_chat_streams_and_new_starts_afresh(redis_url: str, prefix: str) -> None:
    text = "A streamed answer, growing word by word over a few seconds. " * 3
    async with teams_bridge(redis_url, prefix, tokens_per_second=rate_for(text, 4.0)) as env:
        emu = env.teams
        chat = emu.personal_chat()
        env.neuroflash.script(text, "Two.", "Fresh.")
        await emu.personal_message("hello")
        await env.wait(lambda: emu.chat_text(chat) == text, timeout=30)
        streamed = [c.body for c in emu.calls_to("/activities", "POST")]
        infos = [b["entities"][0] for b in streamed if b.get("entities")]
        assert next(i["streamType"] for i in infos) == "streaming" and len(infos) >= 3
        assert infos[-1]["streamType"] == "final" and "streamSequence" not in infos[-1]
        sequences = [i["streamSequence"] for i in infos[:-1]]
        assert sequences == list(range(1, len(sequences) + 1))
        (reply,) = emu.bot_messages(chat)
        assert reply.stream_done and reply.text == text and not emu.connector.stream_errors
        updates = [c.at for c in emu.calls if c.body and c.body.get("type") == "typing"]
        assert all(b - a >= 0.95 for a, b in itertools.pairwise(updates))
        await emu.personal_message("more")
        await env.wait(lambda: emu.chat_text(chat) == text + "Two.")
        await emu.personal_message("new")
        await env.wait(lambda: len(emu.bot_messages(chat)) == 3)
        await emu.personal_message("start over")
        await env.wait(lambda: emu.chat_text(chat).endswith("Fresh."))
        assert env.conversations() == 2


async def test_group_chat_is_post_and_edit(redis_url: str, prefix: str) -> None:
    text = "Group answer that arrives in a few pieces, edited in place as it grows."
    async with teams_bridge(redis_url, prefix, tokens_per_second=rate_for(text, 3.0)) as env:
        emu = env.teams
        env.neuroflash.script(text)
        await emu.group_message("hi all")
        await env.wait(lambda: emu.chat_text(GROUP) == text, timeout=20)
        (reply,) = emu.bot_messages(GROUP)
        assert len(reply.history) >= 2 and not reply.streaming
        assert emu.calls_to(f"/activities/{reply.id}", "PUT")


async def test_forged_activities_are_refused(redis_url: str, prefix: str) -> None:
    async with teams_bridge(redis_url, prefix) as env:
        emu = env.teams
        root = emu.state.post(CHANNEL, "forged", from_bot=False, author="29:mallory")
        activity = emu.maker.message(root, mention=True)
        old = int(time.time()) - 3600
        forged = {
            "expired": {"exp": old, "nbf": old - 60},
            "wrong audience": {"aud": "someone-else"},
            "wrong issuer": {"iss": "https://evil.example"},
            "other service url": {"serviceurl": "https://evil.example/amer/"},
            "no service url": {"serviceurl": None},
        }
        for claims in forged.values():
            assert (await emu.deliver(activity, **claims))[0] == 403
        assert (await emu.deliver(activity, token=""))[0] == 401
        assert (await emu.deliver(activity, token="not-a-jwt"))[0] == 401
        stranger = emu.auth.activity_token(emu.service_url, key=type(emu.auth.key)())
        assert (await emu.deliver(activity, token=stranger))[0] == 403
        moved = {**activity, "serviceUrl": "https://evil.example/amer/"}
        token = emu.auth.activity_token(emu.service_url)
        assert (await emu.deliver(moved, token=token))[0] == 403
        await barrier(env)
        assert env.streams() == [BARRIER]
        refused = env.runtime.metrics if env.runtime else None
        assert refused is not None
        assert refused.value("teams_activities_refused_total", status="403") == 7


async def test_rotated_key_is_fetched_again(redis_url: str, prefix: str) -> None:
    async with teams_bridge(redis_url, prefix) as env:
        await barrier(env)
        await asyncio.sleep(REFRESH_EVERY + 0.1)
        env.teams.auth.rotate_key()
        env.neuroflash.script("After rotation.")
        root = await env.teams.channel_post("signed with a new key")
        await env.wait(lambda: env.teams.thread_text(root.id) == "After rotation.")


async def test_duplicate_activity_is_answered_once(redis_url: str, prefix: str) -> None:
    async with teams_bridge(redis_url, prefix) as env:
        emu = env.teams
        env.neuroflash.script("Only once.")
        root = await emu.channel_post("hello")
        await env.wait(lambda: emu.thread_text(root.id) == "Only once.")
        first, _ = emu.deliveries[-1]
        assert (await emu.deliver(first))[0] == 200
        await barrier(env)
        assert env.streams() == ["hello", BARRIER]
        assert [m.text for m in emu.bot_messages(CHANNEL, root.id)] == ["Only once."]


async def test_stop_button_and_stop_command(redis_url: str, prefix: str) -> None:
    text = "A long answer that will be stopped before it ends. " * 20
    async with teams_bridge(redis_url, prefix, tokens_per_second=rate_for(text, 20.0)) as env:
        emu = env.teams
        env.neuroflash.script(text, text, text)
        for execute in (False, True):
            root = await emu.channel_post("go on")
            await env.wait(
                lambda r=root: any(carded(m.attachments) for m in emu.bot_messages(CHANNEL, r.id))
            )
            (card,) = emu.bot_messages(CHANNEL, root.id)
            status, body = await emu.press_stop(card, execute=execute)
            assert status == 200
            if execute:
                assert body["statusCode"] == 200
            await env.wait(lambda c=card: not carded(c.attachments), timeout=15)
            assert len(card.text) < len(text)
        root = await emu.channel_post("and again")
        await env.wait(lambda: len(emu.thread_text(root.id)) > 20)
        await emu.thread_reply(root.id, "stop")
        await env.wait(lambda: "Stopped" in emu.thread_text(root.id), timeout=15)


async def test_threadbridge_commands_are_answered_in_the_thread(
    redis_url: str, prefix: str
) -> None:
    """Teams has no slash commands for bots: `/threadbridge …` is a post, answered where it was
    written for everyone to see; a channel's root post that starts nothing is in no thread."""
    async with teams_bridge(redis_url, prefix) as env:
        emu = env.teams
        env.neuroflash.script("First answer.")
        root = await emu.channel_post("hello")
        await env.wait(lambda: emu.thread_text(root.id) == "First answer.")
        await emu.thread_reply(root.id, "/threadbridge status")
        await env.wait(lambda: "Messages so far: 1" in emu.thread_text(root.id))
        assert "Provider: neuroflash" in emu.thread_text(root.id)
        lone = await emu.channel_post("threadbridge status", mention=False)
        await env.wait(lambda: "Use this in a thread" in emu.thread_text(lone.id))
        assert env.streams() == ["hello"]


async def test_mentions_in_model_text_stay_text(redis_url: str, prefix: str) -> None:
    text = "Ask <at>Bob</at> about it, or run `echo <at>x</at>`."
    async with teams_bridge(redis_url, prefix) as env:
        emu = env.teams
        env.neuroflash.script(text)
        root = await emu.channel_post("who knows?")
        expected = text.replace("<at>Bob</at>", f"<{WORD_JOINER}at>Bob<{WORD_JOINER}/at>")
        await env.wait(lambda: emu.thread_text(root.id) == expected)
        assert emu.connector.mentions_sent == 0
        sent = [c.body for c in emu.calls_to("/activities") if isinstance(c.body, dict)]
        assert not any(e.get("type") == "mention" for b in sent for e in b.get("entities", []))


async def test_stream_refused_or_timed_out_falls_back_to_edits(redis_url: str, prefix: str) -> None:
    text = "A personal answer that outlives its stream and ends by edit instead. " * 3
    async with teams_bridge(redis_url, prefix, tokens_per_second=rate_for(text, 5.0)) as env:
        emu = env.teams
        chat = emu.personal_chat()
        refusal = {"error": {"code": "ContentStreamNotAllowed", "message": "not allowed"}}
        emu.fail_next("stream", Fault("status", 403, refusal))
        env.neuroflash.script(text, text)
        await emu.personal_message("first")
        await env.wait(lambda: emu.chat_text(chat) == text, timeout=30)
        (first,) = emu.bot_messages(chat)
        assert not first.stream_done and len(first.history) >= 2
        emu.connector.stream_seconds = 2.0
        await emu.personal_message("second")
        await env.wait(lambda: emu.chat_text(chat) == text * 2, timeout=30)
