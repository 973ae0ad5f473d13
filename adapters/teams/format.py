"""Teams' text rules: Markdown (`textFormat: markdown`), pages well under the ~100 KB message
limit, the bot's mention taken out of posts, and no mention ever sent.

A mention in Teams needs `<at>Name</at>` in the text and a `mention` entity naming the user
(…/bots/how-to/conversations/channel-and-group-conversations, "Mentions"). The bridge sends no
entities at all, so nobody is pinged; the `<at>` tags a model writes outside code get a word
joiner after `<` so they read the same and are never taken for markup. Code stays byte-exact.
"""

from __future__ import annotations

import re
from typing import Any

from bridge.contracts.toolkit.commonmark import code_ranges

PAGE_LIMIT = 20_000
"""Characters per message: 80 KB in UTF-16 even if every character were an astral one, under
the documented "approximately 100 KB" with room for the activity around it. A 413 halves it."""
EDIT_INTERVAL = 1.0
STREAM_INTERVAL = 1.5
"""A personal chat's stream takes about one update a second (…/bots/streaming-ux)."""
WORD_JOINER = "\u2060"
_AT_TAG = re.compile(r"<(/?at\b)", re.IGNORECASE)
_TAGS = re.compile(r"<[^<>]+>")
_SPACES = re.compile(r"[ \t]{2,}")


def strip_mentions(text: str, activity: dict[str, Any], bot_id: str) -> tuple[str, bool]:
    """The post's text without the bot's mention(s), and whether the bot was mentioned."""
    mentioned = False
    for entity in activity.get("entities") or []:
        if not isinstance(entity, dict) or entity.get("type") != "mention":
            continue
        who = entity.get("mentioned") or {}
        if isinstance(who, dict) and who.get("id") == bot_id:
            mentioned = True
            tag = str(entity.get("text") or "")
            if tag:
                text = text.replace(tag, " ")
    return plain(text), mentioned


def plain(text: str) -> str:
    """Teams sends channel posts as light HTML: tags out, the common entities decoded."""
    text = _TAGS.sub("", text)
    for entity, char in (("&nbsp;", " "), ("&lt;", "<"), ("&gt;", ">"), ("&amp;", "&")):
        text = text.replace(entity, char)
    return _SPACES.sub(" ", text).strip()


def defuse_mentions(text: str) -> str:
    """`<at>`/`</at>` outside code become inert (a word joiner after `<`)."""
    if "<" not in text:
        return text
    out: list[str] = []
    last = 0
    for start, end in code_ranges(text):
        out.append(_AT_TAG.sub("<" + WORD_JOINER + r"\1", text[last:start]))
        out.append(text[start:end])
        last = end
    out.append(_AT_TAG.sub("<" + WORD_JOINER + r"\1", text[last:]))
    return "".join(out)
