"""Markdown-aware splitting of a growing reply into messages that each fit a platform limit.

Pages are cut at a clean boundary (paragraph, then line, then word), never inside a code fence
when avoidable; when a fence must be cut, it is closed at the end of one page and reopened at
the start of the next. A cut depends only on the text before it, so pages frozen while
streaming are the same pages a fresh split of the final text produces.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})(.*)$")
_MIN_FILL = 0.3


@dataclass(frozen=True, slots=True)
class Fence:
    """An open code fence: its marker (``` or ~~~, maybe longer) and its full opening line."""

    marker: str
    opening: str


def open_fence(text: str) -> Fence | None:
    """The fence still open at the end of `text`, if any."""
    current: Fence | None = None
    for line in text.split("\n"):
        match = _FENCE.match(line)
        if not match:
            continue
        marker, info = match.group(1), match.group(2)
        if current is None:
            current = Fence(marker, line.strip())
        elif (
            marker[0] == current.marker[0]
            and len(marker) >= len(current.marker)
            and not info.strip()
        ):
            current = None
    return current


def _closes(marker: str, info: str, fence: Fence) -> bool:
    return marker[0] == fence.marker[0] and len(marker) >= len(fence.marker) and not info.strip()


def _fence_states(text: str) -> list[bool]:
    """For each line of `text`, whether the newline ending it lies inside a code fence."""
    states: list[bool] = []
    current: Fence | None = None
    for line in text.split("\n"):
        match = _FENCE.match(line)
        if match:
            marker, info = match.group(1), match.group(2)
            if current is None:
                current = Fence(marker, line.strip())
            elif _closes(marker, info, current):
                current = None
        states.append(current is not None)
    return states


def close_for_display(text: str) -> str:
    """Interim text made valid: an unclosed fence or inline code span is closed."""
    fence = open_fence(text)
    if fence is not None:
        head, _, last = text.rpartition("\n")
        partial_close = last and set(last.strip()) <= {fence.marker[0]}
        if partial_close and open_fence(head) is not None:
            text = head
        return text + ("" if text.endswith("\n") else "\n") + fence.marker
    lines = text.split("\n")
    last_fence = max((i for i, line in enumerate(lines) if _FENCE.match(line)), default=-1)
    paragraph = "\n".join(lines[last_fence + 1 :]).rsplit("\n\n", 1)[-1]
    if paragraph.count("`") % 2 == 1:
        return text + "`"
    return text


def cut_point(text: str, limit: int) -> int:
    """Where to end the first page of `text`: after a blank line, else a line, else a word.

    Outside fences first; a cut inside a fence leaves room for the closing marker `seal` adds.
    """
    if len(text) <= limit:
        return len(text)
    window = text[: limit + 1]
    lines = window.split("\n")
    states = _fence_states(window)
    floor = int(limit * _MIN_FILL)
    paragraph = line_end = fenced = -1
    pos = 0
    for i, line in enumerate(lines[:-1]):
        pos += len(line) + 1
        if pos <= floor or pos > limit:
            continue
        if states[i]:
            if pos + _closure_room(window[:pos]) <= limit:
                fenced = pos
            continue
        line_end = pos
        if line == "":
            paragraph = pos
    for candidate in (paragraph, line_end, fenced):
        if candidate > 0:
            return candidate
    return _word_cut(text, limit - _closure_room(text[:limit]))


def _closure_room(prefix: str) -> int:
    fence = open_fence(prefix)
    return 0 if fence is None else len(fence.marker) + 1


def _word_cut(text: str, limit: int) -> int:
    limit = max(1, limit)
    space = text.rfind(" ", int(limit * _MIN_FILL), limit)
    return space + 1 if space > 0 else limit


def seal(page: str) -> tuple[str, str]:
    """Close a fence left open at the end of `page`; return (page, prefix for the next page)."""
    fence = open_fence(page)
    if fence is None:
        return page, ""
    closed = page + ("" if page.endswith("\n") else "\n") + fence.marker
    return closed, fence.opening + "\n"


class Pages:
    """Splits a growing text into pages of at most `limit` characters, freezing full ones."""

    def __init__(self, limit: int) -> None:
        if limit < 64:
            raise ValueError("page limit too small")
        self.limit = limit
        self.frozen: list[str] = []
        self._offset = 0
        self._reopen = ""

    def update(self, text: str) -> list[str]:
        """All pages of `text` (an extension of the last text): the frozen ones, then the tail."""
        while len(self._reopen) + len(text) - self._offset > self.limit:
            # Only the next limit+1 characters can decide a cut: copying more is quadratic.
            window = max(1, self.limit + 1 - len(self._reopen))
            tail = self._reopen + text[self._offset : self._offset + window]
            cut = max(cut_point(tail, self.limit), len(self._reopen) + 1)
            page, reopen = seal(tail[:cut])
            self.frozen.append(page)
            self._offset += cut - len(self._reopen)
            self._reopen = reopen
        return [*self.frozen, self._reopen + text[self._offset :]]


def split(text: str, limit: int) -> list[str]:
    """The pages of a complete text."""
    return Pages(limit).update(text)
