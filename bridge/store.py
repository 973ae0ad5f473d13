"""Everything threadbridge keeps in Redis, behind one class.

Keys that one command or script touches together share a hash tag (`bridge:{<thread>}:…`),
so the same code runs on Redis Cluster. Nothing secret is stored here.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from redis.asyncio import Redis

from bridge import keys
from bridge.contracts import Conversation, ThreadKey
from bridge.keys import RECORD_TTL, THREAD_DATA, THREAD_TTL, Keys

__all__ = ["RECORD_TTL", "THREAD_TTL", "RedisThreadState", "ReplyRecord", "Store"]

_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""
_RELEASE = """
-- delete KEYS[1] if it holds ARGV[1]: a lease, or a user's pointer to a forgotten thread
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


_SAVE_HELD = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return 0
end
redis.call('HSET', KEYS[2], unpack(ARGV, 3))
redis.call('EXPIRE', KEYS[2], ARGV[2])
return 1
"""


_BIND = """
if redis.call('HEXISTS', KEYS[1], 'provider') == 1 then
  return 0
end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'provider', ARGV[1], 'id', ARGV[2], 'steering', ARGV[3],
  'created', ARGV[4], 'last_used', ARGV[4])
redis.call('EXPIRE', KEYS[1], ARGV[5])
return 1
"""
_SET_ID = """
if redis.call('HEXISTS', KEYS[1], 'provider') == 0 then
  return 0
end
if ARGV[4] == '1' and (redis.call('HGET', KEYS[1], 'id') or '') ~= ARGV[3] then
  return 0
end
redis.call('HSET', KEYS[1], 'id', ARGV[1], 'last_used', ARGV[2])
return 1
"""
_TOUCH = """
for _, key in ipairs(KEYS) do
  redis.call('EXPIRE', key, ARGV[1])
end
return 1
"""


_Value = bytes | bytearray | memoryview | str | int | float
_Fields = dict[_Value, _Value]


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _decode(data: Mapping[Any, Any]) -> dict[str, str]:
    return {_text(k): _text(v) for k, v in data.items()}


class ReplyStatus(StrEnum):
    """Where the reply to one post stands; the value is stored in its record and is the
    `outcome` label of the replies metric."""

    NEW = "new"
    STREAMING = "streaming"
    DONE = "done"
    FAILED = "failed"
    STOPPED = "stopped"
    LIMITED = "limited"
    """Cut short by a reply limit (time, size)."""
    UNDELIVERABLE = "undeliverable"
    """The messenger refused it for good (gone, or the content invalid)."""

    @property
    def final(self) -> bool:
        """A redelivered post with this status is not answered again."""
        return self not in (ReplyStatus.NEW, ReplyStatus.STREAMING)


@dataclass(slots=True)
class ReplyRecord:
    """What the bridge has shown for one post: written before streaming, read on takeover."""

    messages: list[str] = field(default_factory=list)
    status: ReplyStatus = ReplyStatus.NEW
    provider_message: str | None = None
    streaming: list[str] = field(default_factory=list)
    """Messages still open as native streams (a takeover stops them, then edits)."""


class Store:
    """The Redis state of one deployment, named by its `keys` (under BRIDGE_REDIS_PREFIX)."""

    def __init__(
        self,
        redis: Redis,
        keys: Keys,
        thread_ttl: int = THREAD_TTL,
        lease_redis: Redis | None = None,
    ) -> None:
        """`lease_redis`: where leases are renewed, all pending renewals in one pipeline (a
        pool of their own, so a busy main pool never lets one lapse); `redis` if not given."""
        self.redis = redis
        self._renewals = Renewals(lease_redis or redis)
        self.keys = keys
        self.thread_ttl = thread_ttl
        self._bind = redis.register_script(_BIND)
        self._set_id = redis.register_script(_SET_ID)
        self._touch = redis.register_script(_TOUCH)
        self._release = redis.register_script(_RELEASE)
        self._mark_done = redis.register_script(_MARK_DONE)
        self._save_held = redis.register_script(_SAVE_HELD)
        self.thread_state = RedisThreadState(self)

    def thread_key(self, thread: ThreadKey, suffix: str) -> str:
        """A key that belongs to one thread; all of a thread's keys share its hash tag."""
        return self.keys.thread(thread, suffix)

    async def mark_thread(self, thread: ThreadKey) -> None:
        """Remember that the bridge answers in this thread (so follow-ups need no mention)."""
        await self.redis.set(self.thread_key(thread, keys.ACTIVE), "1", ex=self.thread_ttl)

    async def is_thread(self, thread: ThreadKey) -> bool:
        return bool(await self.redis.exists(self.thread_key(thread, keys.ACTIVE)))

    async def touch_thread(self, thread: ThreadKey) -> None:
        """A post was accepted: the thread's data lives `thread_ttl` from now (one script)."""
        names = [self.thread_key(thread, suffix) for suffix in THREAD_DATA]
        await self._touch(keys=names, args=[self.thread_ttl])

    async def binding(self, thread: ThreadKey) -> Conversation | None:
        """The thread's conversation; a record without a provider counts as none."""
        data = await self.redis.hgetall(self.thread_key(thread, keys.CONV))
        fields = _decode(data)
        if not fields.get("provider"):
            return None
        return Conversation(
            provider=fields["provider"],
            id=fields.get("id") or None,
            thread=thread,
            steering=json.loads(fields.get("steering") or "{}"),
        )

    async def bind(self, conversation: Conversation) -> Conversation:
        """Bind the thread unless it already is; return the binding that won."""
        key = self.thread_key(conversation.thread, keys.CONV)
        args: list[_Value] = [
            conversation.provider,
            conversation.id or "",
            json.dumps(dict(conversation.steering)),
            str(time.time()),
            self.thread_ttl,
        ]
        while True:
            if await self._bind(keys=[key], args=args):
                return conversation
            existing = await self.binding(conversation.thread)
            if existing is not None:
                return existing

    async def set_conversation_id(
        self, thread: ThreadKey, conversation_id: str, expected: str | None = None
    ) -> bool:
        """Name the bound conversation, in one script: never into a thread that was reset
        meanwhile (no provider), nor, with `expected`, over a binding that changed since."""
        key = self.thread_key(thread, keys.CONV)
        check = "0" if expected is None else "1"
        args = [conversation_id, str(time.time()), expected or "", check]
        return bool(await self._set_id(keys=[key], args=args))

    async def set_steering(self, thread: ThreadKey, steering: Mapping[str, str]) -> None:
        """Replace the steering a bound thread's conversation uses."""
        key = self.thread_key(thread, keys.CONV)
        if await self.redis.exists(key):
            await self.redis.hset(key, "steering", json.dumps(dict(steering)))

    async def unbind(self, thread: ThreadKey) -> None:
        await self.redis.delete(self.thread_key(thread, keys.CONV))

    async def claim_notice(self, thread: ThreadKey, message_id: str) -> bool:
        """True once per post: the one delivery that may answer it with a notice (Slack sends
        a mention as both `app_mention` and `message`, and retries)."""
        return await self._claim(thread, message_id, self.keys.notice(thread, message_id))

    async def claim_command(self, thread: ThreadKey, message_id: str) -> bool:
        """True once per post: the one delivery that carries out its command (every replica's
        socket may deliver the same post)."""
        return await self._claim(thread, message_id, self.keys.command(thread, message_id))

    async def _claim(self, thread: ThreadKey, message_id: str, key: str) -> bool:
        index = self.keys.posts(thread)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.set(key, "1", nx=True, ex=keys.DEDUPE_TTL)
            pipe.sadd(index, message_id)
            pipe.expire(index, keys.posts_ttl(self.thread_ttl))
            claimed, _, _ = await pipe.execute()
        return bool(claimed)

    async def start_over(self, thread: ThreadKey) -> None:
        """Unbind the thread and drop what providers keep for it (OpenAI-compatible history),
        so its next post starts a conversation with no memory of this one."""
        names = (keys.CONV, keys.STATE)
        await self.redis.delete(*(self.thread_key(thread, name) for name in names))

    async def record(self, thread: ThreadKey, message_id: str) -> ReplyRecord | None:
        data = await self.redis.hgetall(self.keys.reply(thread, message_id))
        if not data:
            return None
        fields = _decode(data)
        return ReplyRecord(
            messages=json.loads(fields.get("messages") or "[]"),
            status=ReplyStatus(fields.get("status", ReplyStatus.NEW)),
            provider_message=fields.get("provider_message") or None,
            streaming=json.loads(fields.get("streaming") or "[]"),
        )

    async def save_record(
        self,
        thread: ThreadKey,
        message_id: str,
        *,
        messages: list[str] | None = None,
        status: ReplyStatus | None = None,
        provider_message: str | None = None,
        streaming: list[str] | None = None,
        holder: str | None = None,
    ) -> bool:
        """Save these fields of the reply record; with `holder` (a lease token), only while
        that token holds the thread's lease (False when it does not: nothing was saved)."""
        mapping: _Fields = {}
        if messages is not None:
            mapping["messages"] = json.dumps(messages)
        if streaming is not None:
            mapping["streaming"] = json.dumps(streaming)
        if status is not None:
            mapping["status"] = status
        if provider_message is not None:
            mapping["provider_message"] = provider_message
        key = self.keys.reply(thread, message_id)
        if holder is not None:
            lease = self.thread_key(thread, keys.LEASE)
            fields = [item for pair in mapping.items() for item in pair]
            args = [holder, RECORD_TTL, *fields]
            return int(await self._save_held(keys=[lease, key], args=args)) == 1
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(key, mapping=mapping)
            pipe.expire(key, RECORD_TTL)
            await pipe.execute()
        return True

    async def index_replies(self, thread: ThreadKey, message_ids: list[str]) -> None:
        """Remember which thread the bot's reply messages belong to (for stop reactions)."""
        t = thread
        async with self.redis.pipeline(transaction=False) as pipe:
            for message_id in message_ids:
                key = self.keys.reply_index(t.platform, t.tenant, t.channel, message_id)
                pipe.set(key, str(thread), ex=RECORD_TTL)
            await pipe.execute()

    async def reply_thread(
        self, platform: str, tenant: str, channel: str, message_id: str
    ) -> ThreadKey | None:
        """The thread a bot reply message (in `channel`) belongs to, if the bridge posted it."""
        value = await self.redis.get(self.keys.reply_index(platform, tenant, channel, message_id))
        return ThreadKey.parse(_text(value)) if value else None

    async def reply_post(self, thread: ThreadKey, message_id: str) -> str | None:
        """The post whose reply showed bot message `message_id` (its reply record names it),
        for a press that names only the message; one thread's records, read once."""
        posts = sorted(_text(m) for m in await self.redis.smembers(self.keys.posts(thread)))
        async with self.redis.pipeline(transaction=False) as pipe:
            for post in posts:
                pipe.hget(self.keys.reply(thread, post), "messages")
            records = await pipe.execute()
        for post, raw in zip(posts, records, strict=True):
            if raw and message_id in json.loads(_text(raw)):
                return post
        return None

    async def acquire_lease(self, thread: ThreadKey, token: str, ttl: float) -> bool:
        key = self.thread_key(thread, keys.LEASE)
        return bool(await self.redis.set(key, token, nx=True, px=int(ttl * 1000)))

    async def renew_lease(self, thread: ThreadKey, token: str, ttl: float) -> bool:
        key = self.thread_key(thread, keys.LEASE)
        return await self._renewals.renew(key, token, int(ttl * 1000))

    async def release_lease(self, thread: ThreadKey, token: str) -> None:
        await self._release(keys=[self.thread_key(thread, keys.LEASE)], args=[token])

    async def done_seq(self, thread: ThreadKey) -> int:
        value = await self.redis.get(self.thread_key(thread, keys.DONE))
        return int(value) if value else 0

    async def mark_done(self, thread: ThreadKey, seq: int, token: str) -> bool:
        """Advance the thread's finished-post counter, only while `token` holds the lease."""
        names = [self.thread_key(thread, keys.LEASE), self.thread_key(thread, keys.DONE)]
        return int(await self._mark_done(keys=names, args=[token, seq, self.thread_ttl])) == 1

    async def channel_settings(self, scope: str) -> dict[str, str]:
        data = await self.redis.hgetall(self.keys.channel(scope))
        return _decode(data)

    async def set_channel_setting(self, scope: str, name: str, value: str) -> None:
        await self.redis.hset(self.keys.channel(scope), name, value)

    async def clear_channel_setting(self, scope: str, name: str) -> None:
        await self.redis.hdel(self.keys.channel(scope), name)

    async def add_participant(self, thread: ThreadKey, user: str) -> int:
        """Note that `user` posted in the thread; how many people have."""
        key = self.thread_key(thread, keys.PEOPLE)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.sadd(key, user)
            pipe.scard(key)
            pipe.expire(key, self.thread_ttl)
            _, count, _ = await pipe.execute()
        return int(count)

    async def set_last_thread(self, scope: str, user: str, thread: ThreadKey) -> None:
        """Remember the thread a user last posted in, per channel (Slack slash commands
        carry no thread, so they act on this one)."""
        key = self.keys.last_thread(scope, user)
        await self.redis.set(key, str(thread), ex=self.thread_ttl)

    async def last_thread(self, scope: str, user: str) -> ThreadKey | None:
        value = await self.redis.get(self.keys.last_thread(scope, user))
        return ThreadKey.parse(_text(value)) if value else None

    async def forget_tenant(self, platform: str, tenant: str) -> int:
        """Delete every key of one workspace or guild (threads, replies, channel settings,
        budgets); returns how many. Used when an app is uninstalled, so a SCAN is fine here;
        each pattern begins with a key family and each key found is checked against its
        shape (`Keys.tenant_families`), so a nested prefix's deployment is left alone."""
        deleted = 0
        for pattern, shape in self.keys.tenant_families(platform, tenant):
            async for key in self.redis.scan_iter(match=pattern, count=500):
                if self.keys.owns(key, shape):
                    deleted += int(await self.redis.delete(key))
        return deleted

    async def forget_thread(self, thread: ThreadKey) -> list[str]:
        """Delete every key of one thread by name, no SCAN: its keys (`Keys.thread_keys`, from
        its post index), its reply messages' index and the users' last-thread pointers to it.
        Returns the post ids, which name its inbox keys and dead letters. Stop its reply first."""
        posts = sorted(_text(m) for m in await self.redis.smembers(self.keys.posts(thread)))
        people = await self.redis.smembers(self.thread_key(thread, keys.PEOPLE))
        shown = await self._reply_messages(thread, posts)
        await self.redis.delete(*self.keys.thread_keys(thread, posts))
        t = thread
        async with self.redis.pipeline(transaction=False) as pipe:
            for message_id in shown:
                pipe.delete(self.keys.reply_index(t.platform, t.tenant, t.channel, message_id))
            await pipe.execute()
        for user in people:
            pointer = self.keys.last_thread(thread.scope, _text(user))
            await self._release(keys=[pointer], args=[str(thread)])
        return posts

    async def _reply_messages(self, thread: ThreadKey, posts: list[str]) -> list[str]:
        """The bot's messages that answered `posts` (their reply records name them)."""
        async with self.redis.pipeline(transaction=False) as pipe:
            for message_id in posts:
                pipe.hget(self.keys.reply(thread, message_id), "messages")
            records = await pipe.execute()
        return [m for raw in records if raw for m in json.loads(_text(raw))]


class Renewals:
    """Lease renewals, sent together: whatever is asked while one pipeline is in flight goes
    in the next, so a thousand leases cost a round trip or two per renewal period, on a
    connection or two, however late a busy loop gets round to reading the answers."""

    def __init__(self, redis: Redis) -> None:
        self._redis = redis
        self._pending: list[tuple[str, str, int, asyncio.Future[bool]]] = []
        self._sender: asyncio.Task[None] | None = None

    async def renew(self, key: str, token: str, ttl_ms: int) -> bool:
        """Extend `key` to `ttl_ms` if `token` still holds it; False if it does not."""
        answer: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._pending.append((key, token, ttl_ms, answer))
        if self._sender is None or self._sender.done():
            self._sender = asyncio.create_task(self._send(), name="lease-renewals")
        return await answer

    async def _send(self) -> None:
        while self._pending:
            batch, self._pending = self._pending, []
            try:
                async with self._redis.pipeline(transaction=False) as pipe:
                    for key, token, ttl_ms, _ in batch:
                        pipe.eval(_RENEW, 1, key, token, ttl_ms)
                    results = await pipe.execute(raise_on_error=False)
            except Exception as exc:
                results = [exc] * len(batch)
            for (_, _, _, answer), result in zip(batch, results, strict=True):
                if answer.done():
                    continue
                if isinstance(result, Exception):
                    answer.set_exception(result)
                else:
                    answer.set_result(bool(result))


class RedisThreadState:
    """`ThreadState` for providers: one hash per thread (`{<thread>}:state`), a field per value.

    It is thread data (`keys.THREAD_DATA`): each accepted post and each write keep it
    `thread_ttl` from now, `Store.start_over` and `Store.forget_thread` delete it.
    """

    def __init__(self, store: Store) -> None:
        self._store = store

    def _key(self, thread: ThreadKey) -> str:
        return self._store.thread_key(thread, keys.STATE)

    async def get(self, thread: ThreadKey, name: str) -> str | None:
        value = await self._store.redis.hget(self._key(thread), name)
        return None if value is None else _text(value)

    async def set(self, thread: ThreadKey, name: str, value: str) -> None:
        key = self._key(thread)
        async with self._store.redis.pipeline(transaction=True) as pipe:
            pipe.hset(key, name, value)
            pipe.expire(key, self._store.thread_ttl)
            await pipe.execute()

    async def delete(self, thread: ThreadKey, name: str) -> None:
        await self._store.redis.hdel(self._key(thread), name)
