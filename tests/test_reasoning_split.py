"""The `<think>` splitter: whatever the chunk boundaries, the same answer and reasoning.

Decided and tested here: `<think>` opens reasoning anywhere outside code; inside a backtick
code span or a fenced block it is the answer's literal text; the first `</think>` closes (no
nesting); reasoning never closed stays reasoning; a stray `</think>` is answer text; whitespace
after a block (or before one that opens the answer) is dropped.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator

import pytest

from bridge.contracts import (
    ConversationStarted,
    ReasoningDelta,
    ReplyDone,
    ReplyEvent,
    ReplyFailed,
    TextDelta,
)
from bridge.contracts.toolkit.reasoning import ThinkSplitter, keep_apart, split_think
from bridge.thinking import QUOTE_CHARS, QUOTE_LINES, quote

CASES = {
    "<think>hmm\nok</think>\n\nThe answer.": ("hmm\nok", "The answer."),
    "  \n<think>x</think>Answer": ("x", "Answer"),
    "Intro\n\n<think>x</think>\n\nMore": ("x", "Intro\n\nMore"),
    "<think>unclosed reasoning, cut by max_tokens": ("unclosed reasoning, cut by max_tokens", ""),
    "Sure.<think>still thinking": ("still thinking", "Sure."),
    "<think>a <think> b</think> c": ("a <think> b", "c"),
    "<think>one</think>A<think>two</think>B": ("onetwo", "AB"),
    "Answer </think> stray": ("", "Answer </think> stray"),
    "Use `<think>` to open reasoning.": ("", "Use `<think>` to open reasoning."),
    "``a ` <think> b`` <think>r</think>c": ("r", "``a ` <think> b`` c"),
    "```html\n<think>\n</think>\n```\nafter <think>r</think>done": (
        "r",
        "```html\n<think>\n</think>\n```\nafter done",
    ),
    "~~~\n<think>\n~~~\n<think>r</think>x": ("r", "~~~\n<think>\n~~~\nx"),
    "`open span\n<think>r</think>x": ("r", "`open span\nx"),
    "a < b, <thin> and <thinking> stay": ("", "a < b, <thin> and <thinking> stay"),
    "\n\nHello": ("", "\n\nHello"),
    "ends with <thi": ("", "ends with <thi"),
    "<think>ends with </thi": ("ends with </thi", ""),
    "grüße 👩‍💻<think>ü</think>✓": ("ü", "grüße 👩‍💻✓"),
}


def streamed(text: str, size: int) -> tuple[str, str]:
    splitter = ThinkSplitter()
    pieces: list[TextDelta | ReasoningDelta] = []
    for start in range(0, len(text), size):
        pieces += splitter.feed(text[start : start + size])
    pieces += splitter.end()
    reasoning = "".join(p.text for p in pieces if isinstance(p, ReasoningDelta))
    return reasoning, "".join(p.text for p in pieces if isinstance(p, TextDelta))


@pytest.mark.parametrize("text", list(CASES))
def test_whole_text(text: str) -> None:
    assert split_think(text) == CASES[text]


@pytest.mark.parametrize("size", [1, 2, 3, 4, 7, 1000])
@pytest.mark.parametrize("text", list(CASES))
def test_any_chunking_splits_the_same(text: str, size: int) -> None:
    assert streamed(text, size) == CASES[text]


@pytest.mark.parametrize("text", list(CASES))
def test_an_answer_split_again_is_unchanged(text: str) -> None:
    answer = CASES[text][1]
    assert split_think(answer) == ("", answer)


def test_a_tag_cut_at_a_chunk_end_is_held_back_not_shown() -> None:
    splitter = ThinkSplitter()
    assert splitter.feed("Hi <th") == [TextDelta("Hi ")]
    assert splitter.feed("ink>plan</th") == [ReasoningDelta("plan")]
    assert splitter.feed("ink>\n\nDone") == [TextDelta("Done")]
    assert splitter.end() == []


def test_answer_streams_without_waiting_for_the_end() -> None:
    splitter = ThinkSplitter()
    assert splitter.feed("<think>r</think>Hello") == [ReasoningDelta("r"), TextDelta("Hello")]
    assert splitter.feed(" world") == [TextDelta(" world")]


async def events_of(*events: ReplyEvent) -> AsyncGenerator[ReplyEvent, None]:
    for event in events:
        yield event


async def test_keep_apart_splits_deltas_and_the_final_text() -> None:
    source = events_of(
        ConversationStarted("c1"),
        TextDelta("<thi"),
        TextDelta("nk>plan</think>\n\nAns"),
        TextDelta("wer"),
        ReplyDone(text="<think>plan</think>\n\nAnswer", finish_reason="stop"),
    )
    got = [e async for e in keep_apart(source)]
    assert got == [
        ConversationStarted("c1"),
        ReasoningDelta("plan"),
        TextDelta("Ans"),
        TextDelta("wer"),
        ReplyDone(text="Answer", finish_reason="stop"),
    ]


async def test_keep_apart_reports_reasoning_only_in_the_final_text() -> None:
    got = [e async for e in keep_apart(events_of(ReplyDone(text="<think>r</think>A")))]
    assert got == [ReasoningDelta("r"), ReplyDone(text="A")]


async def test_keep_apart_passes_set_apart_reasoning_and_flushes_before_a_failure() -> None:
    source = events_of(ReasoningDelta("r"), TextDelta("a <"), ReplyFailed("gone"))
    got = [e async for e in keep_apart(source)]
    assert got == [ReasoningDelta("r"), TextDelta("a "), TextDelta("<"), ReplyFailed("gone")]


async def test_closing_keep_apart_closes_the_provider_stream() -> None:
    closed: list[bool] = []

    async def provider() -> AsyncGenerator[ReplyEvent, None]:
        try:
            yield TextDelta("a")
            yield TextDelta("b")
        finally:
            closed.append(True)

    events = keep_apart(provider())
    assert await anext(events) == TextDelta("a")
    await events.aclose()
    assert closed == [True]


def test_quote_is_marked_short_and_keeps_code_fences_out() -> None:
    text = quote("First, the question.\n\n```python\nx = 1\n```\nThen the answer.", "💭 Reasoning")
    assert text == ("> **💭 Reasoning**\n> First, the question.\n> x = 1\n> Then the answer.\n\n")
    long = quote("word " * 1000, "R")
    body = long.split("\n", 1)[1].strip()
    assert body.endswith(" …")
    assert len(body) <= QUOTE_CHARS + 10
    many = quote("\n".join(f"line {n}" for n in range(50)), "R")
    assert many.count("\n> ") == QUOTE_LINES
    assert many.rstrip().endswith("line 7 …")
