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

    async def set_steering(self, thread: ThreadKey, steering: Mapping[str, str]) -> None:
        """Replace the steering a bound thread's conversation uses."""
        key = self.thread_key(thread, "conv")
        if await self.redis.exists(key):
            await self.redis.hset(key, "steering", json.dumps(dict(steering)))

    async def unbind(self, thread: ThreadKey) -> None:
        await self.redis.delete(self.thread_key(thread, "conv"))

    async def start_over(self, thread: ThreadKey) -> None:
        """Unbind the thread and drop the history the bridge keeps for it (OpenAI-compatible),
        so its next post starts a conversation with no memory of this one."""
        await self.redis.delete(self.thread_key(thread, "conv"), self.thread_key(thread, "history"))

    async def record(self, thread: ThreadKey, message_id: str) -> ReplyRecord | None:
        data = await self.redis.hgetall(self.thread_key(thread, f"reply:{message_id}"))
        if not data:
            return None
        fields = _decode(data)
        return ReplyRecord(
            messages=json.loads(fields.get("messages") or "[]"),
            status=fields.get("status", "new"),
            provider_message=fields.get("provider_message") or None,
        )

    async def save_record(
        self,
        thread: ThreadKey,
        message_id: str,
        *,
        messages: list[str] | None = None,
        status: str | None = None,
        provider_message: str | None = None,
    ) -> None:
        mapping: _Fields = {}
        if messages is not None:
            mapping["messages"] = json.dumps(messages)
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

    async def clear_channel_setting(self, scope: str, name: str) -> None:
        await self.redis.hdel(self.key("channel", scope), name)

    async def add_participant(self, thread: ThreadKey, user: str) -> int:
        """Note that `user` posted in the thread; how many people have."""
        key = self.thread_key(thread, "people")
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.sadd(key, user)
            pipe.scard(key)
            pipe.expire(key, THREAD_TTL)
            _, count, _ = await pipe.execute()
        return int(count)

    async def set_last_thread(self, scope: str, user: str, thread: ThreadKey) -> None:
        """Remember the thread a user last posted in, per channel (Slack slash commands
        carry no thread, so they act on this one)."""
        await self.redis.set(self.key("lastthread", scope, user), str(thread), ex=THREAD_TTL)

    async def last_thread(self, scope: str, user: str) -> ThreadKey | None:
        value = await self.redis.get(self.key("lastthread", scope, user))
        return ThreadKey.parse(_text(value)) if value else None

    async def forget_tenant(self, platform: str, tenant: str) -> int:
        """Delete every key of one workspace or guild (threads, replies, channel settings,
        budgets); returns how many. Used when an app is uninstalled."""
        head, tenant_id = _glob_escape(self.prefix), _glob_escape(f"{platform}:{tenant}")
        patterns = (f"{head}*{tenant_id}:*", f"{head}*{tenant_id}", f"{head}*{tenant_id}}}*")
        return await self._delete_matching(patterns)

    async def forget_thread(self, thread: ThreadKey) -> int:
        """Delete every key of one thread: conversation, reply records and their message
        index, lease, sequence and dedupe marks, history. Stop its reply first."""
        head, name = _glob_escape(self.prefix), _glob_escape(str(thread))
        async for key in self.redis.scan_iter(match=f"{head}{{{name}}}:reply:*", count=500):
            messages = json.loads(_text(await self.redis.hget(key, "messages") or b"[]"))
            for message_id in messages:
                await self.redis.delete(
                    self._reply_index(thread.platform, thread.tenant, message_id)
                )
        patterns = (f"{head}*{{{name}}}*", f"{head}*:{name}:*", f"{head}*:{name}")
        return await self._delete_matching(patterns)

    async def _delete_matching(self, patterns: tuple[str, ...]) -> int:
        deleted = 0
        for pattern in patterns:
            async for key in self.redis.scan_iter(match=pattern, count=500):
                deleted += int(await self.redis.delete(key))
        return deleted


def _glob_escape(text: str) -> str:
    """`text` as a literal inside a Redis MATCH pattern."""
    return "".join("\\" + c if c in "*?[]\\" else c for c in text)
