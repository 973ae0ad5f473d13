"""Feedback on replies: a thumbs up/down press kept with its thread, counted, logged, listed.

A press is kept in the thread's `feedback` hash (`bridge.keys`), one field per reply and
person, so it lives and is forgotten with the thread. A script writes it only while the
thread is known (its `active` marker), so a press that races a forget leaves nothing behind.
Any replica can take a press: everything it needs is in Redis.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass

from redis.asyncio import Redis

from bridge import i18n
from bridge.contracts import ThreadKey, escape_id
from bridge.contracts.feedback import Press, Vote
from bridge.keys import ACTIVE
from bridge.metrics import Metrics
from bridge.store import Store

log = logging.getLogger(__name__)

_KEEP = """
if redis.call('EXISTS', KEYS[1]) == 0 then
  return 0
end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
redis.call('EXPIRE', KEYS[2], ARGV[3])
return 1
"""
UNKNOWN_PROVIDER = "unknown"


def user_hash(platform: str, tenant: str, user: str) -> str:
    """A person as the feedback list shows them: stable per person, not their id."""
    return hashlib.sha256(f"{platform}/{tenant}/{user}".encode()).hexdigest()[:12]


@dataclass(frozen=True, slots=True)
class Rating:
    """One kept press: when, on which reply (the post it answers) and bot message, by whom."""

    at: float
    thread: str
    reply: str
    message: str
    provider: str
    outcome: str
    user: str

    def to_json(self) -> str:
        fields = asdict(self)
        del fields["thread"]
        return json.dumps(fields)

    @classmethod
    def from_json(cls, thread: str, raw: str | bytes) -> Rating:
        fields = json.loads(raw)
        return cls(thread=thread, **fields)


class Ratings:
    """The feedback of every thread of one deployment."""

    def __init__(self, redis: Redis, store: Store) -> None:
        self._redis = redis
        self._store = store
        self._keep = redis.register_script(_KEEP)

    async def keep(self, thread: ThreadKey, rating: Rating) -> bool:
        """Keep `rating` unless the thread is no longer known (forgotten or expired)."""
        keys = self._store.keys
        field = f"{escape_id(rating.reply)}:{rating.user}"
        names = [keys.thread(thread, ACTIVE), keys.feedback(thread)]
        args: list[str | int] = [field, rating.to_json(), self._store.thread_ttl]
        return bool(await self._keep(keys=names, args=args))

    async def since(self, start: float, platforms: Iterable[str]) -> list[Rating]:
        """Every kept press at or after `start`, oldest first (a SCAN: an operator's listing)."""
        found: list[Rating] = []
        keys = self._store.keys
        for platform in platforms:
            pattern, shape = keys.feedback_family(platform)
            async for key in self._redis.scan_iter(match=pattern, count=500):
                name = key.decode() if isinstance(key, bytes) else str(key)
                match = shape.fullmatch(name[len(keys.prefix) :])
                if not keys.owns(name, shape) or match is None:
                    continue
                for raw in (await self._redis.hgetall(name)).values():
                    rating = Rating.from_json(match.group(1), raw)
                    if rating.at >= start:
                        found.append(rating)
        return sorted(found, key=lambda r: r.at)


async def take_feedback(
    store: Store, ratings: Ratings, metrics: Metrics, press: Press, default: str
) -> str:
    """The core's answer to a press: find its thread (the bot message's index, else the
    thread the adapter read), keep, count and log it; the text for the person who pressed."""
    thread = await store.reply_thread(press.platform, press.tenant, press.channel, press.message_id)
    thread = thread or press.thread
    if thread is None or not await store.is_thread(thread):
        log.info("feedback on %s refused: its thread is not known", press.message_id)
        return i18n.text("feedback_gone", press.locale, default)
    reply = press.reply or await store.reply_post(thread, press.message_id) or press.message_id
    binding = await store.binding(thread)
    provider = binding.provider if binding is not None else UNKNOWN_PROVIDER
    rating = Rating(
        at=time.time(),
        thread=str(thread),
        reply=reply,
        message=press.message_id,
        provider=provider,
        outcome=press.vote.value,
        user=user_hash(press.platform, press.tenant, press.user),
    )
    if not await ratings.keep(thread, rating):
        log.info("feedback on reply %s refused: %s was forgotten", press.reply, thread)
        return i18n.text("feedback_gone", press.locale, default)
    metrics.inc("feedback_total", provider=provider, outcome=rating.outcome)
    log.info(
        "feedback %s on reply %s (message %s) in %s, provider %s, user %s",
        rating.outcome,
        rating.reply,
        rating.message,
        thread,
        provider,
        rating.user,
    )
    key = "feedback_thanks_up" if press.vote is Vote.UP else "feedback_thanks_down"
    return i18n.text(key, press.locale, default)
