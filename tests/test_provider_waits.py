"""Issue 8 part A: provider-asked waits are capped and charged to the reply's budget, and
`max_tokens` is sent where the API has it."""

from __future__ import annotations

import asyncio

from bridge.config import Settings
from bridge.contracts import Conversation, ReplyFailed, ThreadKey, UserPost
from bridge.providers.converzen import ConverzenProvider
from bridge.providers.openai_compat import OpenAICompatProvider
from bridge.store import Store
from bridge.waits import WaitBudget, use_budget
from emulators.base import Fault
from emulators.converzen import TEST_KEY, ConverzenEmulator
from emulators.openai_compat import OpenAIEmulator
from tests.conftest import provider_context
from tests.provider_events import collect, final

THREAD = ThreadKey("slack", "T1", "C1", "1700000000.000100")
POST = UserPost(THREAD, "m1", "U1", "hi", 1700000001.0)


async def test_converzen_retry_after_inf_is_capped_and_charged_to_the_budget(store: Store) -> None:
    """`retry_after: Infinity` must neither sleep forever nor hold the thread past the budget."""
    emu = ConverzenEmulator()
    await emu.start()
    settings = Settings(converzen_api_key=TEST_KEY, converzen_api_url=emu.api_url)
    provider = ConverzenProvider(provider_context(settings, store))
    try:
        emu.fail_next(
            "completion",
            Fault("error_event", body={"code": "rate_limited", "retry_after": float("inf")}),
        )
        use_budget(WaitBudget(5.0))
        conv = Conversation("converzen", None, THREAD)
        events = await asyncio.wait_for(collect(provider, conv, POST), timeout=20)
        failed = events[-1]
        assert isinstance(failed, ReplyFailed), events
        assert failed.retryable and failed.code == "wait_budget"
    finally:
        await provider.aclose()
        await emu.stop()


async def test_openai_compatible_request_carries_max_tokens(store: Store) -> None:
    emu = OpenAIEmulator()
    await emu.start()
    settings = Settings(
        openai_base_url=emu.base_url, openai_model="llama3", bridge_max_reply_tokens=1234
    )
    provider = OpenAICompatProvider(provider_context(settings, store))
    try:
        emu.script("short")
        events = await collect(provider, Conversation("openai", "c1", THREAD), POST)
        assert final(events) == "short"
        (call,) = emu.calls_to("/chat/completions")
        assert call.body["max_tokens"] == 1234
    finally:
        await provider.aclose()
        await emu.stop()
