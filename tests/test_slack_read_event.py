"""Unit tests of Slack ingest's pure logic: which events are answered, in which thread."""

from __future__ import annotations

from typing import Any

from adapters.slack.ingest import read_event
from bridge.contracts import ThreadKey

BOT = "UBOT"


def event(**fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"type": "message", "user": "U1", "channel": "C1", "ts": "100.1"}
    return base | fields


def test_a_mention_opens_a_thread_under_the_message_without_the_mention() -> None:
    incoming = read_event(event(type="app_mention", text=f"<@{BOT}> hello"), "T1", BOT)
    assert incoming is not None
    assert incoming.starts_thread and incoming.addressed
    assert incoming.post.thread == ThreadKey("slack", "T1", "C1", "100.1")
    assert incoming.post.text == "hello"


def test_a_reply_in_a_thread_keeps_the_parent_and_opens_nothing() -> None:
    incoming = read_event(event(ts="100.5", thread_ts="100.1", text="more"), "T1", BOT)
    assert incoming is not None
    assert not incoming.starts_thread
    assert incoming.post.thread.thread == "100.1"
    assert incoming.post.message_id == "100.5"


def test_a_direct_message_opens_a_thread_without_a_mention() -> None:
    incoming = read_event(event(channel="D1", channel_type="im", text="hi"), "T1", BOT)
    assert incoming is not None and incoming.starts_thread


def test_bots_echoes_and_edits_are_ignored() -> None:
    assert read_event(event(bot_id="B1", text="x"), "T1", BOT) is None
    assert read_event(event(user=BOT, text="x"), "T1", BOT) is None
    assert read_event(event(subtype="message_changed", text="x"), "T1", BOT) is None
    assert read_event(event(subtype="message_deleted"), "T1", BOT) is None
    assert read_event({"type": "message", "text": "no user, channel or ts"}, "T1", BOT) is None


def test_files_are_named_and_linked() -> None:
    files = [{"name": "a.png", "permalink": "https://x/a", "mimetype": "image/png"}]
    incoming = read_event(event(subtype="file_share", text="see", files=files), "T1", BOT)
    assert incoming is not None
    assert incoming.post.attachments == ("a.png",)
    assert incoming.post.files[0].url == "https://x/a"


def test_an_author_from_another_team_is_noted_for_streaming() -> None:
    """Slack Connect: chat.startStream wants the team the recipient belongs to."""
    guest = read_event(event(type="app_mention", text=f"<@{BOT}> hi", user_team="T9"), "T1", BOT)
    assert guest is not None and guest.post.extra == {"user_team": "T9"}
    local = read_event(event(type="app_mention", text=f"<@{BOT}> hi", user_team="T1"), "T1", BOT)
    assert local is not None and local.post.extra == {}
