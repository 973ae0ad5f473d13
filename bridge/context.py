"""A late mention: the posts written in a thread before the bot was first mentioned there go
to the provider with that first post, so the answer knows what was discussed.

They are put in front of the post's text as one marked block, so every provider gets them the
same way: once, as part of the first message (a provider keeping its own history keeps them
there as that user message). The messenger's history call is bounded in time; a slow or failing
one costs the post its context, never its answer.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from dataclasses import replace

from bridge.contracts import Earlier, History, UserPost
from bridge.metrics import Metrics

log = logging.getLogger(__name__)

HEADER = "Earlier in this thread (oldest first):"
FOOTER = "(end of the earlier posts)"
CUT = "…"


async def fetch(
    history: History, post: UserPost, metrics: Metrics, *, limit: int, timeout: float
) -> Sequence[Earlier]:
    """The earlier posts (at most `limit`), or none when the messenger fails or takes longer
    than `timeout`: a line is logged and the post is answered alone."""
    platform = post.thread.platform
    started = time.monotonic()
    try:
        async with asyncio.timeout(timeout):
            found = await history(limit)
    except TimeoutError:
        log.warning(
            "thread history of %s took over %.1fs; the post %s is answered without it",
            post.thread,
            timeout,
            post.message_id,
        )
        metrics.inc("context_fetches_total", platform=platform, outcome="timeout")
        return ()
    except Exception as exc:  # any messenger failure: the post still goes, without context
        log.warning(
            "thread history of %s failed (%s); the post %s is answered without it",
            post.thread,
            exc,
            post.message_id,
        )
        metrics.inc("context_fetches_total", platform=platform, outcome="error")
        return ()
    metrics.inc("context_fetches_total", platform=platform, outcome="ok")
    log.debug("thread history of %s: %d posts in %.3fs", post.thread, len(found), _since(started))
    return list(found)[-limit:] if limit else []


def with_context(post: UserPost, earlier: Sequence[Earlier], max_chars: int) -> UserPost:
    """`post` with `earlier` in front of its text, the newest kept while the whole text stays
    within `max_chars` (the post-size limit)."""
    room = max_chars - len(post.text) - len(HEADER) - len(FOOTER) - 4
    lines = _lines(earlier, room)
    if not lines:
        return post
    block = "\n".join([HEADER, *lines, FOOTER])
    extra = {**post.extra, "context_posts": str(len(lines))}
    return replace(post, text=f"{block}\n\n{post.text}", extra=extra)


def _lines(earlier: Sequence[Earlier], room: int) -> list[str]:
    """One `name: text` line per post, newest first while they fit in `room`, returned oldest
    first; the newest alone is cut to fit rather than dropped."""
    kept: list[str] = []
    for item in reversed(earlier):
        text = item.text.strip()
        if not text:
            continue
        line = f"{item.author}: {text}"
        if len(line) > room:
            if not kept and room > len(CUT):
                kept.append(line[: room - len(CUT)] + CUT)
            break
        kept.append(line)
        room -= len(line) + 1
    kept.reverse()
    return kept


def _since(started: float) -> float:
    return time.monotonic() - started
