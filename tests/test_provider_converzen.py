"""converzen provider against its emulator: real httpx-sse over loopback, real Redis store."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest

from bridge.config import ConfigError
from bridge.contracts import Conversation, ReplyDone, ReplyFailed, TextDelta
from emulators.base import Fault
from emulators.converzen import ConverzenEmulator
from providers.converzen.provider import ConverzenProvider, error_code, persona_selector
from tests.provider_kit import THREAD, ConverzenKit, Kit, collect, final, started, told, user_post

TEXTS = ("Hallo 👋🏽 — grüße aus Köln", "Zweitens: naïve café 👩‍👩‍👧‍👦 ok", "三つ目の答え ✓ done")


@pytest.fixture
def kit() -> Kit:
    return ConverzenKit(converzen_persona="47:next")


@pytest.fixture
def provider(make_provider: Callable[..., Any]) -> ConverzenProvider:
    """Rate-limit waits shortened so the retry tests take milliseconds."""
    instance = make_provider()
    instance.rate_limit_delays = (0.01, 0.02)
    return instance


async def first_reply(provider: ConverzenProvider, text: str = "hi") -> Conversation:
    events = await collect(provider, Conversation("converzen", None, THREAD), user_post(1, text))
    return Conversation("converzen", started(events)[0], THREAD)


async def test_three_posts_one_session_exact_texts(
    provider: ConverzenProvider, emu: ConverzenEmulator
) -> None:
    emu.script(*TEXTS)
    conv = Conversation("converzen", None, THREAD)
    finals = []
    for n, text in enumerate(("erste Frage", "zweite Frage", "dritte Frage"), start=1):
        events = await collect(provider, conv, user_post(n, text, author=f"U{n % 2}"))
        assert not any(isinstance(e, ReplyFailed) for e in events), events
        if conv.id is None:
            conv = replace(conv, id=started(events)[0])
        else:
            assert started(events) == []
        finals.append(final(events))
    assert finals == list(TEXTS)
    assert len(emu.calls_to("/completion/stream")) == 1
    continuations = emu.calls_to("/continuation/stream")
    assert [c.body for c in continuations] == [
        {"message": "zweite Frage", "session": conv.id},
        {"message": "dritte Frage", "session": conv.id},
    ]
    assert len(emu.sessions[str(conv.id)].messages) == 6
    token_bodies = [c.body for c in emu.calls_to("/get_token")]
    assert token_bodies[0]["persona"] == {"persona_id": 47, "version_type": "next"}
    # U0's post continues the session U1 started, with U1's token (the session's owner).
    assert {b["user_id"] for b in token_bodies} == {user_post(1, "x", author="U1").author_ref}


async def test_auth_failed_event_refreshes_once(
    provider: ConverzenProvider, emu: ConverzenEmulator
) -> None:
    conv = await first_reply(provider)
    emu.fail_next("continuation", Fault("error_event", body={"code": "auth_failed"}))
    events = await collect(provider, conv, user_post(2, "again"))
    assert final(events) == emu.replies[-1]
    assert len(emu.replies) == 3  # the first reply, the rejected attempt, the retry
    assert emu.token_calls == 2


async def test_expired_session_starts_fresh_one(
    provider: ConverzenProvider, emu: ConverzenEmulator
) -> None:
    conv = await first_reply(provider)
    emu.expire_session(str(conv.id))
    emu.script("fresh start 🌱")
    events = await collect(provider, conv, user_post(2, "still there?"))
    new_ids = started(events)
    assert len(new_ids) == 1 and new_ids[0] != conv.id
    assert final(events) == "fresh start 🌱"
    assert emu.calls_to("/completion/stream")[-1].body == {"message": "still there?"}


async def test_unknown_session_starts_a_fresh_one(
    provider: ConverzenProvider, emu: ConverzenEmulator
) -> None:
    """A continuation answered 404 (the session is gone) is treated as `session_expired`."""
    conv = await first_reply(provider)
    del emu.sessions[str(conv.id)]
    emu.script("new session 🌱")
    events = await collect(provider, conv, user_post(2, "hello again"))
    assert len(started(events)) == 1 and started(events)[0] != conv.id
    assert final(events) == "new session 🌱"


@pytest.mark.parametrize(
    ("data", "code"),
    [
        ({"type": "error", "message": "session_expired"}, "session_expired"),
        ({"type": "error", "error": "rate_limited", "message": "slow down"}, "rate_limited"),
        ({"type": "error", "error": {"code": "auth_failed"}}, "auth_failed"),
        ({"type": "error", "message": "Something broke"}, None),
    ],
)
def test_error_code_is_found_in_the_seed_shape_too(data: dict[str, Any], code: str | None) -> None:
    assert error_code(data) == code


async def test_session_expiring_mid_answer_fails_then_recovers(
    provider: ConverzenProvider, emu: ConverzenEmulator
) -> None:
    conv = await first_reply(provider)
    fault = Fault("error_event", body={"code": "session_expired"}, after=3)
    emu.fail_next("continuation", fault)
    events = await collect(provider, conv, user_post(2, "long one"))
    failed = events[-1]
    assert isinstance(failed, ReplyFailed)
    assert failed.code == "session_expired" and failed.retryable
    assert "fresh" in failed.message
    emu.expire_session(str(conv.id))
    events = await collect(provider, conv, user_post(3, "next"))
    assert isinstance(events[-1], ReplyDone) and len(started(events)) == 1


@pytest.mark.parametrize(
    "fault",
    [
        Fault("error_event", body={"code": "rate_limited"}),
        Fault("status", status=429, body={"detail": "slow down"}),
    ],
)
async def test_rate_limited_waits_and_retries(
    provider: ConverzenProvider, emu: ConverzenEmulator, fault: Fault
) -> None:
    emu.fail_next("completion", fault)
    emu.script("patience pays ⏳", "patience pays ⏳")
    events = await collect(provider, Conversation("converzen", None, THREAD), user_post())
    assert final(events) == "patience pays ⏳"
    assert len(emu.calls_to("/stream")) == 2  # a session created before the error is continued


@pytest.mark.parametrize(
    ("fault", "retryable", "words"),
    [
        (Fault("error_event", body={"code": "content_filtered"}, after=2), False, "content filter"),
        (Fault("error_event", body={"code": "unavailable"}), True, "unavailable"),
        (Fault("error_event", body={"code": "internal"}, after=4), True, "internal error"),
        (Fault("error_event", body={"code": "rate_limited"}, after=2), True, "rate limiting"),
    ],
)
async def test_faults_become_clear_failures(
    provider: ConverzenProvider,
    emu: ConverzenEmulator,
    fault: Fault,
    retryable: bool,
    words: str,
) -> None:
    conv = await first_reply(provider)
    emu.fail_next("continuation", fault)
    events = await collect(provider, conv, user_post(2, "trouble?"))
    failed = events[-1]
    assert isinstance(failed, ReplyFailed), events
    assert failed.retryable is retryable
    assert words in told(failed)
    emu.script("works again ✓")
    assert final(await collect(provider, conv, user_post(3, "and now?"))) == "works again ✓"


async def test_content_filter_message(provider: ConverzenProvider, emu: ConverzenEmulator) -> None:
    emu.fail_next("completion", Fault("error_event", body={"code": "content_filtered"}))
    events = await collect(provider, Conversation("converzen", None, THREAD), user_post())
    failed = events[-1]
    assert isinstance(failed, ReplyFailed)
    assert (failed.message, failed.retryable, failed.code) == (
        "The provider's content filter blocked this answer.",
        False,
        "content_filtered",
    )


async def test_slow_first_token_times_out_cleanly(
    make_provider: Callable[..., Any], emu: ConverzenEmulator
) -> None:
    provider = make_provider(provider_read_timeout=0.3)
    emu.fail_next("completion", Fault("slow", delay=1.0))
    events = await collect(provider, Conversation("converzen", None, THREAD), user_post())
    failed = events[-1]
    assert isinstance(failed, ReplyFailed) and failed.retryable
    assert "in time" in failed.message
    emu.fail_next("completion", Fault("slow", delay=0.1))
    emu.script("late but fine")
    events = await collect(provider, Conversation("converzen", None, THREAD), user_post())
    assert final(events) == "late but fine"


async def test_closing_the_reply_closes_the_stream(
    provider: ConverzenProvider, emu: ConverzenEmulator
) -> None:
    emu.style.tokens_per_second = 100
    emu.script("word " * 200)
    events = provider.reply(Conversation("converzen", None, THREAD), user_post(1, "long"))
    async for event in events:
        if isinstance(event, TextDelta):
            break
    await events.aclose()
    await emu.wait_for(lambda: emu.aborted == 1, timeout=3)


async def test_bad_api_key_names_the_setting(make_provider: Callable[..., Any]) -> None:
    provider = make_provider(converzen_api_key="nope")
    events = await collect(provider, Conversation("converzen", None, THREAD), user_post())
    failed = events[-1]
    assert isinstance(failed, ReplyFailed) and not failed.retryable
    assert "CONVERZEN_API_KEY" in told(failed)


async def test_missing_api_key_is_a_config_error(make_provider: Callable[..., Any]) -> None:
    with pytest.raises(ConfigError, match="CONVERZEN_API_KEY"):
        make_provider(converzen_api_key=None)


def test_persona_selector() -> None:
    assert persona_selector("") is None
    assert persona_selector("47:next") == {"persona_id": 47, "version_type": "next"}
    assert persona_selector("my-alias") == {"alias": "my-alias"}


async def test_alias_and_default_persona_reach_get_token(
    make_provider: Callable[..., Any], emu: ConverzenEmulator
) -> None:
    for persona, expected in (("my-alias", {"alias": "my-alias"}), ("", None)):
        provider = make_provider(converzen_persona=persona)
        await collect(provider, Conversation("converzen", None, THREAD), user_post())
        assert emu.calls_to("/get_token")[-1].body.get("persona") == expected
