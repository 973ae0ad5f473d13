"""Mattermost's text rules: Markdown as the model writes it, the server's maximum post size,
and no mention that pings.

The server finds mentions word by word in the Markdown's text nodes, never in code
(server/channels/app/mention_parser_standard.go: words are runs of letters, digits and
`: . - _ @`; `@here`, `@channel`, `@all`, `@<username>` and group names count). A word joiner
(U+2060) after the `@` splits the word there, so `@⁠here` reads the same and names nobody.
"""

from __future__ import annotations

import re

from bridge.contracts.toolkit.commonmark import code_ranges

MAX_POST_SIZE = 16383
"""Characters a post may hold on current servers (the Message column became text; 4,000 on
old schemas); the server's own figure is read at start-up from its client configuration."""
EDIT_INTERVAL = 1.0
"""At least a second between two edits of one post: each patch is pushed to every client."""
WORD_JOINER = "\u2060"
_AT = re.compile(r"(?<![^\W_])@(?=\w)")
"""An `@` that starts a word (not one inside `user@example.com`) followed by a name."""


def defuse_mentions(text: str) -> str:
    """Model text with every `@name` outside code made inert; code stays byte-exact."""
    if "@" not in text:
        return text
    out: list[str] = []
    last = 0
    for start, end in code_ranges(text):
        out.append(_AT.sub("@" + WORD_JOINER, text[last:start]))
        out.append(text[start:end])
        last = end
    out.append(_AT.sub("@" + WORD_JOINER, text[last:]))
    return "".join(out)


def mentions(text: str, username: str) -> bool:
    return _mention(username).search(text) is not None


def strip_mention(text: str, username: str) -> str:
    """The post's text without `@<bot username>` (any case, as the server matches it)."""
    return _mention(username).sub("", text).strip()


def _mention(username: str) -> re.Pattern[str]:
    return re.compile(rf"(?<![\w@])@{re.escape(username)}(?![\w-]|\.\w)", re.IGNORECASE)
