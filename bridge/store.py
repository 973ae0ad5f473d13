"""Everything threadbridge keeps in Redis, behind one class.

Keys that one command or script touches together share a hash tag (`bridge:{<thread>}:…`),
so the same code runs on Redis Cluster. Nothing secret is stored here.
"""

from __future__ import annotations

from redis.asyncio import Redis

from bridge.models import ThreadKey


class Store:
    """The Redis state of one deployment, namespaced by `prefix`."""

    def __init__(self, redis: Redis, prefix: str = "bridge:") -> None:
        self.redis = redis
        self.prefix = prefix

    def thread_key(self, thread: ThreadKey, suffix: str) -> str:
        """A key that belongs to one thread; all of a thread's keys share its hash tag."""
        return f"{self.prefix}{{{thread}}}:{suffix}"

    def key(self, *parts: str) -> str:
        return self.prefix + ":".join(parts)
