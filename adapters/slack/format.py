"""Slack's text rules: replies are sent as `markdown_text`, so the model's standard Markdown
renders as written; only the page size and the mention syntax are Slack's own."""

from __future__ import annotations

import re

from bridge.contracts.toolkit.commonmark import code_ranges

PAGE_LIMIT = 3900
"""Characters of Markdown per message. `markdown_text` allows 12,000, but Slack collapses
long messages and `text` is ~4,000 in practice; pages this size read well and fit both."""

EDITS_PER_MESSAGE_INTERVAL = 1.0
"""Slack staff advice: about one edit per second per message."""


def strip_mention(text: str, bot_user_id: str) -> str:
    """The post's text without the bot's own mention(s)."""
    return re.sub(rf"<@{re.escape(bot_user_id)}(\|[^>]*)?>", "", text).strip()


def mentions(text: str, user_id: str) -> bool:
    return f"<@{user_id}" in text


WORD_JOINER = "\u2060"
"""Invisible, zero-width, and not a word character: `@\u2060here` reads as `@here` but is
no mention to Slack, whose mention parsing needs `@` directly followed by the name."""

_BROADCASTS = ("here", "channel", "everyone", "subteam^")
_ESCAPED = re.compile(r"<([!@])([^<>|\s]*)(?:\|([^<>]*))?>")
_PLAIN = re.compile(r"(?<![\w@])@(?=(?:here|channel|everyone)\b)", re.IGNORECASE)


def defuse_mentions(text: str) -> str:
    """Model text with every Slack mention and broadcast outside code made inert.

    `<!channel>`, `<!here>`, `<!everyone>`, `<@U…>`/`<@W…>`, `<!subteam^…>` (with or without
    `|label`) become plain `@name` text with a word joiner after the `@`, so nobody is pinged
    and the text still reads the same. Broadcast names match in any case (`<!HERE>` too). Code
    (spans, fenced and indented blocks, exactly where CommonMark finds them: Slack renders
    `markdown_text` as standard Markdown) is left byte-exact.
    """
    if "<" not in text and "@" not in text:
        return text
    out: list[str] = []
    last = 0
    for start, end in code_ranges(text):
        out.append(_defuse_prose(text[last:start]))
        out.append(text[start:end])
        last = end
    out.append(_defuse_prose(text[last:]))
    return "".join(out)


def _defuse_prose(text: str) -> str:
    text = _ESCAPED.sub(_inert, text)
    return _PLAIN.sub("@" + WORD_JOINER, text)


def _inert(match: re.Match[str]) -> str:
    sigil, target, label = match.group(1), match.group(2), match.group(3)
    if sigil == "!" and not target.lower().startswith(_BROADCASTS):
        return match.group(0)
    name = (label or "").lstrip("@") or target.split("^", 1)[-1]
    return "@" + WORD_JOINER + name
