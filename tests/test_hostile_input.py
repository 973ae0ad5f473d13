"""Bad input has a defined outcome and never reaches a provider.

An empty or mention-only post gets a one-line hint; a post over BRIDGE_MAX_POST_CHARS gets a
short reply naming the limit. The barrier for "nothing reached the provider" is a later,
ordinary post that is answered: the provider's call log then holds only that one.
"""

from __future__ import annotations

from bridge.ingest import EMPTY_HINT
from tests.harness import Env, discord_bridge, slack_bridge

CHANNEL = "C1"


def stream_texts(env: Env) -> list[str]:
    return [c.body["text"] for c in env.neuroflash.calls_to("message-streams", "POST")]


def slack_texts(env: Env, root: str) -> list[str]:
    return [m.text for m in env.replies(CHANNEL, root)]


async def test_mention_only_post_gets_a_hint(redis_url: str, prefix: str) -> None:
    async with slack_bridge(redis_url, prefix) as env:
        env.neuroflash.script("Answered.")
        empty = await env.slack.user_post(CHANNEL, "<@UBOT>")
        await env.wait(lambda: slack_texts(env, empty) == [EMPTY_HINT])
        blank = await env.slack.user_post(CHANNEL, "<@UBOT>   \n ")
        await env.wait(lambda: slack_texts(env, blank) == [EMPTY_HINT])
        root = await env.slack.user_post(CHANNEL, "<@UBOT> a real question")
        await env.wait_reply(CHANNEL, root, "Answered.")
        assert stream_texts(env) == ["a real question"]
        assert len(env.neuroflash.conversations) == 1


async def test_oversized_post_is_refused_naming_the_limit(redis_url: str, prefix: str) -> None:
    async with slack_bridge(redis_url, prefix, bridge_max_post_chars=5000) as env:
        env.neuroflash.script("Short one answered.")
        root = await env.slack.user_post(CHANNEL, "<@UBOT> " + "x" * 200_000)
        await env.wait(lambda: len(slack_texts(env, root)) == 1)
        (refusal,) = slack_texts(env, root)
        assert "5,000" in refusal and "200,000" in refusal and len(refusal) < 200
        over = await env.slack.user_post(CHANNEL, "<@UBOT> " + "y" * 5001)
        await env.wait(lambda: len(slack_texts(env, over)) == 1)
        assert "5,001" in slack_texts(env, over)[0]
        short = await env.slack.user_post(CHANNEL, "<@UBOT> a short one")
        await env.wait_reply(CHANNEL, short, "Short one answered.")
        assert stream_texts(env) == ["a short one"]
        assert len(slack_texts(env, root)) == 1


async def test_default_limit_is_16000(redis_url: str, prefix: str) -> None:
    async with slack_bridge(redis_url, prefix) as env:
        env.neuroflash.script("Fits.")
        root = await env.slack.user_post(CHANNEL, "<@UBOT> " + "z" * 16_001)
        await env.wait(lambda: len(slack_texts(env, root)) == 1)
        assert "16,000" in slack_texts(env, root)[0]
        fits = await env.slack.user_post(CHANNEL, "<@UBOT> " + "z" * 16_000)
        await env.wait_reply(CHANNEL, fits, "Fits.")
        assert [len(t) for t in stream_texts(env)] == [16_000]


async def test_discord_mention_only_post_gets_a_hint(redis_url: str, prefix: str) -> None:
    async with discord_bridge(redis_url, prefix) as env:
        emu = env.discord
        env.neuroflash.script("Answered.")
        await emu.user_message(emu.channel.id, "", mentions_bot=True)
        await env.wait(lambda: env.discord_text(emu.channel.id) == EMPTY_HINT)
        (hint,) = emu.bot_messages(emu.channel.id)
        assert hint.allowed_mentions == {"parse": []}
        post = await emu.user_message(emu.channel.id, "a real one", mentions_bot=True)
        await env.wait(lambda: env.discord_text(post.id) == "Answered.")
        assert stream_texts(env) == ["a real one"]
