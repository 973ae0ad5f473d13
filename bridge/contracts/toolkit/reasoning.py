"""Reasoning kept apart from the answer: a streaming `<think>…</think>` splitter.

Models served raw (Ollama or llama.cpp without a reasoning parser, hosted services in front of
them) write their reasoning into the text between `<think>` and `</think>`. `ThinkSplitter` cuts
a stream of text chunks into `TextDelta` (the answer) and `ReasoningDelta` pieces whatever the
chunk boundaries: a tag split over two SSE events is held back until it is whole or proven not
to be one. The result never depends on where the chunks were cut (`split_think` of the whole
text reads the same).

The rules:
- `<think>` opens reasoning anywhere in the answer outside code; the first `</think>` closes it
  (no nesting: a `<think>` inside reasoning is reasoning text).
- Inside code — a backtick code span (ending at the line's end at the latest) or a fenced block
  (a line opening with three or more backticks or tildes) — `<think>` is the answer's literal
  text: a model that explains the tag writes it as code.
- Reasoning never closed ends the stream as reasoning: the answer is what came before it.
- A `</think>` without an open `<think>` is answer text: the answer was shown by then already.
- Whitespace right after a reasoning block, or before one that opens the answer, is dropped, so
  the answer reads as if the block had never been there.
"""

from __future__ import annotations

import re
from collections.abc import AsyncGenerator
from dataclasses import replace

from bridge.contracts.data import ReasoningDelta, ReplyDone, ReplyEvent, ReplyFailed, TextDelta

OPEN = "<think>"
CLOSE = "</think>"
_RUN = re.compile("`+|~+")
"""A run of backticks or tildes: code opens and closes only at a whole run."""

Piece = TextDelta | ReasoningDelta


def _held(text: str, tag: str) -> int:
    """How many characters at the end of `text` could be the start of `tag`."""
    for size in range(min(len(tag) - 1, len(text)), 0, -1):
        if tag.startswith(text[-size:]):
            return size
    return 0


class ThinkSplitter:
    """One stream's text split into answer and reasoning; `feed` each chunk, then `end`.

    What counts as code is judged from the answer as emitted alone, so an answer split again
    splits the same (`keep_apart` may meet text a provider split already)."""

    def __init__(self) -> None:
        self._pending = ""
        self._thinking = False
        self._trim = False
        self._spoken = False
        self._blank_lead = ""
        self._code = ""
        self._fenced = False
        self._line_blank = True
        self._answer: list[str] = []
        self._reasoning: list[str] = []
        self.saw_reasoning = False

    def feed(self, chunk: str) -> list[Piece]:
        """The pieces `chunk` completes (a possible tag at its end waits for the next one)."""
        self._pending += chunk
        self._scan(final=False)
        return self._pieces()

    def end(self) -> list[Piece]:
        """The pieces held back for a tag that never came whole."""
        self._scan(final=True)
        return self._pieces()

    def _pieces(self) -> list[Piece]:
        pieces: list[Piece] = []
        if self._reasoning:
            pieces.append(ReasoningDelta("".join(self._reasoning)))
            self._reasoning.clear()
        if self._answer:
            pieces.append(TextDelta("".join(self._answer)))
            self._answer.clear()
        return pieces

    def _scan(self, final: bool) -> None:
        text, i = self._pending, 0
        while i < len(text):
            if self._thinking:
                close = text.find(CLOSE, i)
                if close < 0:
                    end = len(text) - (0 if final else _held(text[i:], CLOSE))
                    self._reason(text[i:end])
                    i = end
                    break
                self._reason(text[i:close])
                self._thinking, self._trim = False, True
                i = close + len(CLOSE)
                continue
            step = self._answer_step(text, i, final)
            if step == 0:
                break
            i += step
        self._pending = text[i:]

    def _reason(self, text: str) -> None:
        if text:
            self._reasoning.append(text)

    def _answer_step(self, text: str, i: int, final: bool) -> int:
        """Take what starts at `i` in the answer; its length, or 0 to wait for more text."""
        char = text[i]
        if char.isspace() and (self._trim or not self._spoken):
            if not self._trim:
                self._blank_lead += char
            return 1
        if char == "<" and not self._code:
            if text.startswith(OPEN, i):
                self._thinking = self.saw_reasoning = True
                self._blank_lead = ""
                return len(OPEN)
            if not final and OPEN.startswith(text[i:]):
                return 0
        run = _RUN.match(text, i)
        if run is not None:
            if run.end() == len(text) and not final:
                return 0
            self._fence(run.group())
            self._say(run.group())
            return len(run.group())
        if char == "\n" and self._code and not self._fenced:
            self._code = ""
        self._say(char)
        return 1

    def _fence(self, run: str) -> None:
        """A run of backticks or tildes opens or closes code."""
        if self._code:
            if run[0] != self._code[0]:
                return
            if (self._fenced and self._line_blank and len(run) >= len(self._code)) or (
                not self._fenced and run == self._code
            ):
                self._code, self._fenced = "", False
            return
        if len(run) >= 3 and self._line_blank:
            self._code, self._fenced = run, True
        elif run[0] == "`":
            self._code = run

    def _say(self, text: str) -> None:
        """Answer text: any held leading whitespace goes first; the line state follows."""
        self._trim, self._spoken = False, True
        if self._blank_lead:
            text, self._blank_lead = self._blank_lead + text, ""
        self._answer.append(text)
        for char in text:
            if char == "\n":
                self._line_blank = True
            elif not char.isspace():
                self._line_blank = False


def split_think(text: str) -> tuple[str, str]:
    """(reasoning, answer) of a whole text, as `ThinkSplitter` streams it."""
    splitter = ThinkSplitter()
    pieces = splitter.feed(text) + splitter.end()
    reasoning = "".join(p.text for p in pieces if isinstance(p, ReasoningDelta))
    answer = "".join(p.text for p in pieces if isinstance(p, TextDelta))
    return reasoning, answer


async def keep_apart(
    events: AsyncGenerator[ReplyEvent, None],
) -> AsyncGenerator[ReplyEvent, None]:
    """A provider's events with `<think>` reasoning in its text turned into `ReasoningDelta`s;
    a `ReplyDone` text keeps only the answer. Reasoning a provider already set apart passes
    as it is, and an answer already split splits the same again. Closing this closes `events`."""
    splitter = ThinkSplitter()
    try:
        async for event in events:
            if isinstance(event, TextDelta):
                for piece in splitter.feed(event.text):
                    yield piece
                continue
            if isinstance(event, ReplyDone | ReplyFailed):
                for piece in splitter.end():
                    yield piece
            if isinstance(event, ReplyDone) and event.text is not None:
                reasoning, answer = split_think(event.text)
                if reasoning and not splitter.saw_reasoning:
                    yield ReasoningDelta(reasoning)
                event = replace(event, text=answer)
            yield event
    finally:
        await events.aclose()
