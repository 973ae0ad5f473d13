"""Everything threadbridge keeps in Redis, behind one class.

Keys that one command or script touches together share a hash tag (`bridge:{<thread>}:…`),
so the same code runs on Redis Cluster. Nothing secret is stored here.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from redis.asyncio import Redis

from bridge.models import ThreadKey
from bridge.provider import Conversation

THREAD_TTL = 90 * 24 * 3600
RECORD_TTL = 7 * 24 * 3600

_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""
_MARK_DONE = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return -1
end
local done = tonumber(redis.call('GET', KEYS[2]) or '0')
if tonumber(ARGV[2]) > done then
  redis.call('SET', KEYS[2], ARGV[2], 'EX', ARGV[3])
end
return 1
"""


_Value = bytes | bytearray | memoryview | str | int | float
_Fields = dict[_Value, _Value]


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _decode(data: Mapping[Any, Any]) -> dict[str, str]:
    return {_text(k): _text(v) for k, v in data.items()}


@dataclass(slots=True)
class ReplyRecord:
    """What the bridge has shown for one post: written before streaming, read on takeover."""

    messages: list[str] = field(default_factory=list)
    status: str = "new"
    provider_message: str | None = None
    streaming: list[str] = field(default_factory=list)
    """Messages still open as native streams (a takeover stops them, then edits)."""


class Store:
    """The Redis state of one deployment, namespaced by `prefix`."""

    def __init__(self, redis: Redis, prefix: str = "bridge:") -> None:
        self.redis = redis
        self.prefix = prefix
        self._renew = redis.register_script(_RENEW)
        self._release = redis.register_script(_RELEASE)
        self._mark_done = redis.register_script(_MARK_DONE)

    def thread_key(self, thread: ThreadKey, suffix: str) -> str:
        """A key that belongs to one thread; all of a thread's keys share its hash tag."""
        return f"{self.prefix}{{{thread}}}:{suffix}"

    def key(self, *parts: str) -> str:
        return self.prefix + ":".join(parts)

    async def mark_thread(self, thread: ThreadKey) -> None:
        """Remember that the bridge answers in this thread (so follow-ups need no mention)."""
        await self.redis.set(self.thread_key(thread, "active"), "1", ex=THREAD_TTL)

    async def is_thread(self, thread: ThreadKey) -> bool:
        return bool(await self.redis.exists(self.thread_key(thread, "active")))

    async def binding(self, thread: ThreadKey) -> Conversation | None:
        data = await self.redis.hgetall(self.thread_key(thread, "conv"))
        if not data:
            return None
        fields = _decode(data)
        return Conversation(
            provider=fields["provider"],
            id=fields.get("id") or None,
            thread=thread,
            steering=json.loads(fields.get("steering") or "{}"),
        )

    async def bind(self, conversation: Conversation) -> Conversation:
        """Bind the thread unless it already is; return the binding that won."""
        key = self.thread_key(conversation.thread, "conv")
        created = await self.redis.hsetnx(key, "provider", conversation.provider)
        if created:
            now = str(time.time())
            mapping: _Fields = {
                "id": conversation.id or "",
                "steering": json.dumps(dict(conversation.steering)),
                "created": now,
                "last_used": now,
            }
            await self.redis.hset(key, mapping=mapping)
            await self.redis.expire(key, THREAD_TTL)
            return conversation
        existing = await self.binding(conversation.thread)
        assert existing is not None
        return existing

    async def set_conversation_id(self, thread: ThreadKey, conversation_id: str) -> None:
        key = self.thread_key(thread, "conv")
        fields: _Fields = {"id": conversation_id, "last_used": str(time.time())}
        await self.redis.hset(key, mapping=fields)

    async def unbind(self, thread: ThreadKey) -> None:
        await self.redis.delete(self.thread_key(thread, "conv"))

    async def record(self, thread: ThreadKey, message_id: str) -> ReplyRecord | None:
        data = await self.redis.hgetall(self.thread_key(thread, f"reply:{message_id}"))
        if not data:
            return None
        fields = _decode(data)
        return ReplyRecord(
            messages=json.loads(fields.get("messages") or "[]"),
            status=fields.get("status", "new"),
            provider_message=fields.get("provider_message") or None,
            streaming=json.loads(fields.get("streaming") or "[]"),
        )

    async def save_record(
        self,
        thread: ThreadKey,
        message_id: str,
        *,
        messages: list[str] | None = None,
        status: str | None = None,
        provider_message: str | None = None,
        streaming: list[str] | None = None,
    ) -> None:
        mapping: _Fields = {}
        if messages is not None:
            mapping["messages"] = json.dumps(messages)
        if streaming is not None:
            mapping["streaming"] = json.dumps(streaming)
        if status is not None:
            mapping["status"] = status
        if provider_message is not None:
            mapping["provider_message"] = provider_message
        key = self.thread_key(thread, f"reply:{message_id}")
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(key, mapping=mapping)
            pipe.expire(key, RECORD_TTL)
            await pipe.execute()

    async def index_replies(self, thread: ThreadKey, message_ids: list[str]) -> None:
        """Remember which thread the bot's reply messages belong to (for stop reactions)."""
        async with self.redis.pipeline(transaction=False) as pipe:
            for message_id in message_ids:
                pipe.set(
                    self._reply_index(thread.platform, thread.tenant, message_id),
                    str(thread),
                    ex=RECORD_TTL,
                )
            await pipe.execute()

    async def reply_thread(self, platform: str, tenant: str, message_id: str) -> ThreadKey | None:
        """The thread a bot reply message belongs to, if the bridge posted it."""
        value = await self.redis.get(self._reply_index(platform, tenant, message_id))
        return ThreadKey.parse(_text(value)) if value else None

    def _reply_index(self, platform: str, tenant: str, message_id: str) -> str:
        return self.key("replymsg", platform, tenant, message_id)

    async def acquire_lease(self, thread: ThreadKey, token: str, ttl: float) -> bool:
        key = self.thread_key(thread, "lease")
        return bool(await self.redis.set(key, token, nx=True, px=int(ttl * 1000)))

    async def renew_lease(self, thread: ThreadKey, token: str, ttl: float) -> bool:
        key = self.thread_key(thread, "lease")
        return bool(await self._renew(keys=[key], args=[token, int(ttl * 1000)]))

    async def release_lease(self, thread: ThreadKey, token: str) -> None:
        await self._release(keys=[self.thread_key(thread, "lease")], args=[token])

    async def done_seq(self, thread: ThreadKey) -> int:
        value = await self.redis.get(self.thread_key(thread, "done"))
        return int(value) if value else 0

    async def mark_done(self, thread: ThreadKey, seq: int, token: str) -> bool:
        """Advance the thread's finished-post counter, only while `token` holds the lease."""
        keys = [self.thread_key(thread, "lease"), self.thread_key(thread, "done")]
        return int(await self._mark_done(keys=keys, args=[token, seq, THREAD_TTL])) == 1

    async def channel_settings(self, scope: str) -> dict[str, str]:
        data = await self.redis.hgetall(self.key("channel", scope))
        return _decode(data)

    async def set_channel_setting(self, scope: str, name: str, value: str) -> None:
        await self.redis.hset(self.key("channel", scope), name, value)
