"""Slack's text rules: replies are sent as `markdown_text`, so the model's standard Markdown
renders as written; only the page size and the mention syntax are Slack's own."""

from __future__ import annotations

import re

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
