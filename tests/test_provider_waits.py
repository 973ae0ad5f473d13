"""Provider-asked waits are capped and charged to the reply's budget, and
`max_tokens` is sent where the API has it."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from bridge.contracts import Conversation, ReplyFailed
from bridge.contracts.toolkit.waits import WaitBudget, use_budget
from emulators.base import Fault
from emulators.converzen import ConverzenEmulator
from emulators.openai_compat import OpenAIEmulator
from tests.provider_kit import THREAD, ConverzenKit, OpenAIKit, collect, final, user_post, with_kits

POST = user_post()


@with_kits(ConverzenKit())
async def test_converzen_retry_after_inf_is_capped_and_charged_to_the_budget(
    make_provider: Callable[..., Any], emu: ConverzenEmulator
) -> None:
    """`retry_after: Infinity` must neither sleep forever nor hold the thread past the budget."""
    provider = make_provider()
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


@with_kits(OpenAIKit())
async def test_openai_compatible_request_carries_max_tokens(
    make_provider: Callable[..., Any], emu: OpenAIEmulator
) -> None:
    provider = make_provider(bridge_max_reply_tokens=1234)
    emu.script("short")
    events = await collect(provider, Conversation("openai", "c1", THREAD), POST)
    assert final(events) == "short"
    (call,) = emu.calls_to("/chat/completions")
    assert call.body["max_tokens"] == 1234
