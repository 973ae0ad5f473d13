"""Where CommonMark puts code: the source ranges of code spans and code blocks in Markdown.

Replies go out as standard Markdown, so what a messenger shows as code is what CommonMark
(https://spec.commonmark.org/0.31.2/) says is code; guessing with regular expressions gets
unclosed fences, unmatched backtick strings and escaped backticks wrong. markdown-it-py
parses; its block tokens carry line ranges, and code spans are located by recording where its
own backtick rule matched, then mapping that position in the block's text back to the source.
"""

from __future__ import annotations

import bisect
import re
from typing import Any

from markdown_it import MarkdownIt
from markdown_it.rules_inline import StateInline
from markdown_it.rules_inline.backticks import backtick
from markdown_it.token import Token

Range = tuple[int, int]
"""[start, end) offsets into the text."""

_LINE_ENDING = re.compile(r"\r\n?|\n")
"""CommonMark's line endings, the ones markdown-it normalises before parsing."""

_SPANS = "threadbridge_code_spans"
_BLOCKS = frozenset({"fence", "code_block"})


def _recording_backtick(state: StateInline, silent: bool) -> bool:
    """markdown-it's backtick rule, noting each code span it emits (offsets in `state.src`)."""
    start, emitted = state.pos, len(state.tokens)
    if not backtick(state, silent):
        return False
    spans = state.env.get(_SPANS)
    made_span = any(t.type == "code_inline" for t in state.tokens[emitted:])
    if not silent and made_span and isinstance(spans, list):
        spans.append((start, state.pos))
    return True


def _parser() -> MarkdownIt:
    md = MarkdownIt("commonmark")
    md.inline.ruler.at("backticks", _recording_backtick)
    md.core.ruler.disable("inline")
    return md


_MD = _parser()


def code_ranges(text: str) -> list[Range]:
    """The ranges of `text` that CommonMark renders as code, in order, without overlaps.

    A code block's range covers its whole lines (fences included); a code span's covers its
    backtick strings. Anything that cannot be mapped back exactly is left out (read as text).
    """
    env: dict[str, Any] = {}
    lines = _line_ranges(text)
    found: list[Range] = []
    for token in _MD.parse(text, env):
        if token.map is None:
            continue
        if token.type in _BLOCKS:
            first, end = token.map
            found.append((lines[first][0], lines[min(end, len(lines)) - 1][1]))
        elif token.type == "inline" and "`" in token.content:
            found.extend(_inline_spans(text, lines, token, env))
    return sorted(found)


def _line_ranges(text: str) -> list[Range]:
    """Each line's [start, end) in `text`, line endings excluded."""
    ranges, start = [], 0
    for ending in _LINE_ENDING.finditer(text):
        ranges.append((start, ending.start()))
        start = ending.end()
    ranges.append((start, len(text)))
    return ranges


def _inline_spans(text: str, lines: list[Range], token: Token, env: dict[str, Any]) -> list[Range]:
    """The code spans of one paragraph or heading, as ranges of `text`."""
    spans: list[Range] = []
    env[_SPANS] = spans
    _MD.inline.parse(token.content, _MD, env, [])
    assert token.map is not None
    where = _InlineSource(text, lines[token.map[0] :], token.content)
    found = []
    for start, end in spans:
        a, b = where.offset(start), where.offset(end - 1)
        if a is not None and b is not None and text[a] == text[b] == "`":
            found.append((a, b + 1))
    return found


class _InlineSource:
    """Maps an offset in a block's inline text to the same character in the source.

    Line i of the inline text is the tail of source line i with its container markers and
    indentation taken off (a tab there may come back as spaces), so from a line's first
    backtick on the two agree character for character; code spans start and end on backticks.
    """

    def __init__(self, text: str, lines: list[Range], content: str) -> None:
        self._text = text
        self._lines = lines
        self._content = content
        self._starts = [0]
        for ending in re.finditer("\n", content):
            self._starts.append(ending.end())

    def offset(self, position: int) -> int | None:
        i = bisect.bisect_right(self._starts, position) - 1
        if i >= len(self._lines):
            return None
        line_start, line_end = self._lines[i]
        here = self._content.find("`", self._starts[i], position + 1)
        there = self._text.find("`", line_start, line_end)
        if here < 0 or there < 0:
            return None
        return there + position - here
