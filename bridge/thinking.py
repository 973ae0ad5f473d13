"""What a reply shows of the model's reasoning (BRIDGE_SHOW_REASONING).

Reasoning is never the answer. `off`: while it streams and no answer text has come, the reply
shows a "Thinking…" status, which the answer then replaces; the reasoning is dropped. `collapsed`:
the same status, then the reasoning once, quoted, shortened and marked, above the answer.
Reasoning that comes after the answer began is dropped in both modes: the quote stays above.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

from bridge.render import Renderer

ShowReasoning = Literal["off", "collapsed"]
QUOTE_CHARS = 600
"""The most characters of reasoning the collapsed quote shows (cut at a word, marked "…")."""
QUOTE_LINES = 8
KEPT_CHARS = QUOTE_CHARS * 2
"""Reasoning kept for the quote: what it could show, not the whole (it may be long)."""


def quote(reasoning: str, label: str) -> str:
    """`reasoning` as a short quote under `label`, ending in a blank line.

    Blank lines and code fence lines are left out (a fence cut short would swallow the
    answer below it), and a cut is marked with "…"."""
    lines = [line.strip() for line in reasoning.splitlines()]
    lines = [line for line in lines if line and not line.startswith(("```", "~~~"))]
    text = "\n".join(lines)
    cut = len(text) > QUOTE_CHARS or len(lines) > QUOTE_LINES
    if cut:
        text = "\n".join(text[:QUOTE_CHARS].split("\n")[:QUOTE_LINES])
        if len(text) >= QUOTE_CHARS and " " in text:
            text = text.rsplit(" ", 1)[0]
        text = text.rstrip() + " …"
    body = "".join(f"\n> {line}" for line in text.split("\n")) if text else ""
    return f"> **{label}**{body}\n\n"


class Thoughts:
    """One reply's reasoning as it is shown; the turn calls it for each event."""

    def __init__(self, mode: ShowReasoning, say: Callable[[str], str]) -> None:
        self._mode = mode
        self._say = say
        self._kept: list[str] = []
        self._size = 0
        self._answering = False
        self._block: str | None = None

    def reasoning(self, text: str, renderer: Renderer) -> None:
        """Reasoning streamed: show the status while no answer text has come."""
        if self._answering:
            return
        renderer.status(self._say("thinking"))
        if self._mode == "collapsed" and self._size < KEPT_CHARS:
            self._kept.append(text[: KEPT_CHARS - self._size])
            self._size += len(self._kept[-1])

    def answer(self, renderer: Renderer) -> None:
        """The answer's text begins: clear the status, put the quote (if any) above it."""
        if self._answering:
            return
        self._answering = True
        renderer.status("")
        renderer.append(self.block())

    def block(self) -> str:
        """The quote above the answer ("" when off or nothing was reasoned), made once."""
        if self._block is None:
            reasoning = "".join(self._kept).strip()
            shown = self._mode == "collapsed" and reasoning
            self._block = quote(reasoning, self._say("reasoning")) if shown else ""
        return self._block
