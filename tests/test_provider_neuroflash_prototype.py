"""neuroflash prototype provider against its emulator (OAuth, workspaces, non-streaming)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from bridge.contracts import Conversation, ConversationStarted, ReplyDone, ReplyFailed, ThreadKey
from bridge.contracts.toolkit.sse import ProviderHTTPError
from emulators.base import Fault
from emulators.neuroflash_prototype import WORKSPACE, NeuroflashPrototypeEmulator
from providers.neuroflash import NeuroflashPrototypeProvider
from tests.provider_kit import THREAD, Kit, PrototypeKit, collect, told, user_post

OTHER_WORKSPACE = "0d7c1f0e-0000-4000-8000-000000000002"
TEXTS = ("Neuroflash ist einzigartig 👋🏽 — grüße", "Ein Beispiel: naïve 👩‍👩‍👧‍👦 café", "完 ✓")


@pytest.fixture
def kit() -> Kit:
    return PrototypeKit()


async def opened(provider: NeuroflashPrototypeProvider, thread: ThreadKey = THREAD) -> Conversation:
    conversation_id = await provider.open(thread, {})
    return Conversation("neuroflash-prototype", conversation_id, thread)


async def test_three_posts_one_conversation_exact_texts(
    provider: NeuroflashPrototypeProvider, emu: NeuroflashPrototypeEmulator
) -> None:
    assert provider.streams is False
    conv = await opened(provider)
    create = emu.calls_to("/ds-prototypes/conversations", "POST")[0]
    assert create.body == {"workspace_id": WORKSPACE}
    assert create.headers["x-workspace-id"] == WORKSPACE
    emu.script(*TEXTS)
    results = [await collect(provider, conv, user_post(n, f"Frage {n}")) for n in (1, 2, 3)]
    for events, text in zip(results, TEXTS, strict=True):
        assert len(events) == 1
        done = events[0]
        assert isinstance(done, ReplyDone) and done.text == text
        assert done.finish_reason == "stop" and done.usage["total_tokens"] > 0
    sent = [c.body for c in emu.calls_to("/chat/completions")]
    assert sent == [{"messages": [{"role": "user", "content": f"Frage {n}"}]} for n in (1, 2, 3)]
    assert len(emu.conversations) == 1
    assert len(emu.conversations[str(conv.id)].messages) == 6


async def test_reply_without_an_id_opens_one(
    provider: NeuroflashPrototypeProvider, emu: NeuroflashPrototypeEmulator
) -> None:
    events = await collect(
        provider, Conversation("neuroflash-prototype", None, THREAD), user_post()
    )
    assert isinstance(events[0], ConversationStarted)
    assert events[0].conversation_id in emu.conversations
    assert isinstance(events[1], ReplyDone)


async def test_wrong_workspace_is_explained(
    provider: NeuroflashPrototypeProvider,
    make_provider: Callable[..., Any],
    emu: NeuroflashPrototypeEmulator,
) -> None:
    emu.workspaces.add(OTHER_WORKSPACE)
    conv = await opened(provider)
    other = make_provider(neuroflash_workspace_id=OTHER_WORKSPACE)
    failed = (await collect(other, conv, user_post()))[-1]
    assert isinstance(failed, ReplyFailed) and not failed.retryable
    assert "does not own this conversation" in failed.message
    assert "NEUROFLASH_WORKSPACE_ID" in failed.message
    with pytest.raises(ProviderHTTPError) as raised:
        await other.forget(conv)
    assert raised.value.status == 403
    assert isinstance((await collect(provider, conv, user_post(2)))[-1], ReplyDone)


@pytest.mark.parametrize(
    ("fault", "retryable", "words"),
    [
        (Fault("status", status=500, body={"detail": "boom"}), True, "HTTP 500"),
        (Fault("status", status=429, headers={"Retry-After": "0"}), True, "busy"),
        (Fault("status", status=422, body={"detail": "messages too long"}), False, "too long"),
        (
            Fault("error_event", body={"code": "upstream", "message": "model down"}),
            True,
            "model down",
        ),
    ],
)
async def test_faults_become_clear_failures(
    provider: NeuroflashPrototypeProvider,
    emu: NeuroflashPrototypeEmulator,
    fault: Fault,
    retryable: bool,
    words: str,
) -> None:
    conv = await opened(provider)
    # A 429 is waited out and sent again three times (retry_when_busy) before it is reported.
    emu.fail_next("completion", fault, times=4 if fault.status == 429 else 1)
    failed = (await collect(provider, conv, user_post(1, "trouble?")))[-1]
    assert isinstance(failed, ReplyFailed)
    assert failed.retryable is retryable and words in told(failed)
    emu.script("fine again ✓")
    done = (await collect(provider, conv, user_post(2, "now?")))[-1]
    assert isinstance(done, ReplyDone) and done.text == "fine again ✓"


async def test_slow_answer_times_out_cleanly(
    make_provider: Callable[..., Any], emu: NeuroflashPrototypeEmulator
) -> None:
    provider = make_provider(provider_read_timeout=0.3)
    conv = await opened(provider)
    emu.fail_next("completion", Fault("slow", delay=1.0))
    failed = (await collect(provider, conv, user_post()))[-1]
    assert isinstance(failed, ReplyFailed) and "in time" in failed.message
    assert isinstance((await collect(provider, conv, user_post(2)))[-1], ReplyDone)


async def test_forget_deletes_the_conversation(
    provider: NeuroflashPrototypeProvider, emu: NeuroflashPrototypeEmulator
) -> None:
    conv = await opened(provider)
    await collect(provider, conv, user_post())
    await provider.forget(conv)
    assert emu.conversations == {}
    delete = emu.calls_to("/ds-prototypes/conversations/", "DELETE")[0]
    assert delete.query == {"workspace_id": WORKSPACE}
    await provider.forget(conv)
    failed = (await collect(provider, conv, user_post(2, "still there?")))[-1]
    assert isinstance(failed, ReplyFailed) and "no longer knows" in failed.message


async def test_bad_client_secret_names_the_settings(make_provider: Callable[..., Any]) -> None:
    provider = make_provider(neuroflash_client_secret="wrong")
    conv = Conversation("neuroflash-prototype", "some-id", THREAD)
    failed = (await collect(provider, conv, user_post()))[-1]
    assert isinstance(failed, ReplyFailed) and not failed.retryable
    assert "NEUROFLASH_CLIENT_SECRET" in told(failed)


async def test_workspace_is_discovered_when_not_configured(
    make_provider: Callable[..., Any], emu: NeuroflashPrototypeEmulator
) -> None:
    """Seed 001, step 2: the first workspace the credentials list, asked once."""
    provider = make_provider(neuroflash_workspace_id=None)
    conv = await opened(provider)
    assert emu.conversations[str(conv.id)].workspace_id == WORKSPACE
    assert isinstance((await collect(provider, conv, user_post(2)))[-1], ReplyDone)
    assert len(emu.calls_to("/workspace-service/v1/workspaces")) == 1


async def test_no_workspace_listed_is_explained(
    make_provider: Callable[..., Any], emu: NeuroflashPrototypeEmulator
) -> None:
    emu.workspaces.clear()
    provider = make_provider(neuroflash_workspace_id=None)
    failed = (await collect(provider, Conversation(provider.name, None, THREAD), user_post()))[-1]
    assert isinstance(failed, ReplyFailed) and not failed.retryable
    assert "NEUROFLASH_WORKSPACE_ID" in failed.message
