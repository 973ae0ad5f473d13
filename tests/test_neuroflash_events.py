"""Pure tests of how the neuroflash provider reads stream events and builds its requests."""

from __future__ import annotations

import httpx
import pytest

from bridge.contracts import ReplyDone, ReplyFailed, TextDelta, ThreadKey, UserPost
from bridge.contracts.toolkit.sse import ProviderHTTPError
from providers.neuroflash.events import (
    MalformedEvent,
    event_kind,
    parse_event,
    reply_after,
    retryable_code,
)
from providers.neuroflash.policy import (
    NeuroflashError,
    OpenRetry,
    message_body,
    steering_body,
)
from providers.neuroflash.settings import NeuroflashSettings

FINAL = '{"id":"a1","text":"Hi 👋","source":"assistant","createdAt":"2026-05-01T09:00:00"}'


@pytest.mark.parametrize(
    ("event", "data"),
    [
        ("delta", '{"delta": "Hé"}'),
        ("message", '{"type": "delta", "text": "Hé"}'),
        ("message", '{"event": "delta", "content": "Hé"}'),
        ("message", '{"delta": "Hé"}'),
        ("token", '{"text": "Hé"}'),
        ("message", '{"type": "message.delta", "delta": {"content": "Hé"}}'),
        ("message", '{"id": "a1", "text": "Hé"}'),
    ],
)
def test_delta_shapes(event: str, data: str) -> None:
    assert parse_event(event, data) == TextDelta("Hé")


@pytest.mark.parametrize(
    ("event", "data"),
    [
        ("message", FINAL),
        ("message", FINAL.replace("{", '{"type":"message",', 1)),
        ("message", FINAL.replace("{", '{"event":"message",', 1).replace(",", ",\n", 2)),
        ("done", FINAL),
        ("message", '{"type": "final", "message": ' + FINAL + "}"),
        ("message", '{"message": ' + FINAL + "}"),
        ("message", FINAL.replace('"source":"assistant",', "")),
    ],
)
def test_final_payload_shapes(event: str, data: str) -> None:
    assert parse_event(event, data) == ReplyDone(text="Hi 👋", message_id="a1")


def test_final_without_text_is_an_end_marker() -> None:
    assert parse_event("message", '{"type": "done"}') == ReplyDone(text=None)


def test_echoed_user_message_is_ignored() -> None:
    data = '{"type": "message", "id": "u1", "text": "question", "source": "user"}'
    assert parse_event("message", data) is None


@pytest.mark.parametrize(
    ("event", "data", "retryable"),
    [
        ("error", '{"message": "Model overloaded", "code": "modelOverloaded"}', True),
        ("message", '{"type": "error", "message": "Model overloaded", "code": "INTERNAL"}', True),
        ("message", '{"event": "error", "error": "Model overloaded", "code": "x"}', False),
        ("message", '{"error": {"message": "Model overloaded"}}', False),
        ("message", '{"error": {"message": "Model overloaded", "code": "overloaded"}}', True),
    ],
)
def test_error_shapes(event: str, data: str, retryable: bool) -> None:
    failed = parse_event(event, data)
    assert isinstance(failed, ReplyFailed)
    assert failed.message == "neuroflash could not finish the answer."
    assert failed.detail == "Model overloaded"
    assert failed.retryable is retryable


@pytest.mark.parametrize(
    ("event", "data"),
    [
        ("message", ""),
        ("message", "   "),
        ("message", "[DONE]"),
        ("message", '"just a string"'),
        ("message", '{"event": "usage", "outputTokens": 12}'),
        ("ping", "{}"),
        ("delta", '{"delta": ""}'),
        ("message", "{}"),
    ],
)
def test_nothing_to_show_is_skipped(event: str, data: str) -> None:
    assert parse_event(event, data) is None


def test_malformed_json_raises_for_the_caller_to_skip() -> None:
    with pytest.raises(MalformedEvent):
        parse_event("delta", '{"delta": "ha')


def test_type_key_wins_over_the_sse_event_field() -> None:
    assert event_kind("delta", {"type": "error"}) == "error"
    assert event_kind("Message-Delta", {}) == "message_delta"


def test_retryable_codes() -> None:
    assert retryable_code("rate_limited")
    assert retryable_code("Service-Unavailable".replace("-", "_"))
    assert not retryable_code("contentFiltered")
    assert not retryable_code(None)


def test_reply_after_finds_the_answer_to_our_message() -> None:
    history = [
        {"id": "u0", "source": "user", "text": "first"},
        {"id": "a0", "source": "assistant", "text": "one"},
        {"id": "u1", "source": "user", "text": "second"},
        {"id": "a1", "source": "assistant", "text": "two"},
        {"id": "u2", "source": "user", "text": "third"},
    ]
    assert reply_after(history, "u1") == ReplyDone(text="two", message_id="a1")
    assert reply_after(history, "u2") is None
    assert reply_after(history, "missing") is None
    assert reply_after(history[:3] + history[4:], "u1") is None


def test_reply_after_takes_any_source_but_the_user() -> None:
    """The seed names `source` only as "An enumeration"; only "user" is certain."""
    history = [
        {"id": "u1", "source": "USER", "text": "question"},
        {"id": "a1", "source": "ai", "text": "answer"},
    ]
    assert reply_after(history, "u1") == ReplyDone(text="answer", message_id="a1")


def test_steering_body_merges_settings_and_thread_overrides() -> None:
    settings = NeuroflashSettings(
        _env_file=None,  # type: ignore[call-arg]
        personality="friendly",
        brand_voice_id="bv-1",
        model_name="gpt-4",
    )
    steering = {"brandVoiceId": "bv-2", "personalityId": "7", "modelName": ""}
    body = steering_body(settings, "", steering)
    assert body == {"personality": "friendly", "personalityId": 7, "brandVoiceId": "bv-2"}
    with pytest.raises(NeuroflashError, match="personalityId"):
        steering_body(settings, "", {"personalityId": "seven"})


def test_message_body_is_stable_per_post() -> None:
    thread = ThreadKey("slack", "T1", "C1", "1.0")
    post = UserPost(thread, "1.5", "U1", "hello", ts=1_777_626_090.25)
    body = message_body(post, 4000)
    assert body == {
        "id": post.message_uuid,
        "text": "hello",
        "createdAt": "2026-05-01T09:01:30",
        "contextSize": 4000,
    }
    assert message_body(post, None)["id"] == body["id"]
    assert "contextSize" not in message_body(post, None)


def test_open_retry_waits_out_locks_and_transient_errors_within_bounds() -> None:
    locked = OpenRetry()
    waits = [locked.delay(ProviderHTTPError(409, {"code": "conversationLocked"})) for _ in range(6)]
    assert waits == pytest.approx([0.1, 0.2, 0.4, 0.8, 1.0, 1.0])
    transient = OpenRetry()
    waits = [transient.delay(ProviderHTTPError(503, {})) for _ in range(3)]
    assert waits == pytest.approx([0.25, 0.5, 1.0])
    assert transient.delay(httpx.ConnectError("refused")) is None
    assert OpenRetry().delay(httpx.ConnectError("refused")) == pytest.approx(0.25)
    assert OpenRetry().delay(ProviderHTTPError(429, {}, retry_after=2.5)) == 2.5
    assert OpenRetry().delay(ProviderHTTPError(429, {}, retry_after=90)) is None
    assert OpenRetry().delay(ProviderHTTPError(409, {"code": "duplicateMessage"})) is None
    assert OpenRetry().delay(ProviderHTTPError(400, {"message": "bad"})) is None
