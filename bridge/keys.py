"""The key map: every Redis key the bridge writes, with its hash tag and how long it lives.

Keys a command or script touches together share a hash tag, so the bridge runs on Redis
Cluster. Thread data lives while the thread is in use: every accepted post pushes its expiry
to `thread_ttl` (BRIDGE_THREAD_TTL_DAYS) from now. Only the inbox streams never expire, and
plugins' values stored without a TTL (Slack's installations: deleted when the app is
uninstalled; `Store.forget_tenant` then deletes every key naming the workspace, plugin values
included). A plugin names its values (`bridge.contracts.PluginState`); the key, the tenant's
escaping and the forgetting are the core's.

Forget needs no SCAN: every key of a thread is named from the thread (`thread_keys`,
`inbox_thread_keys`) and the ids in its `posts` index. Patterns for SCAN MATCH (uninstall, key
rotation) begin with a literal key family after the prefix, never `*`, and what they find is
checked against the family's exact shape (`owns`), so a deployment whose prefix extends ours
(`tb:` and `tb:staging:`) is never touched.

| key (after the prefix)                        | tag               | retention                |
|-----------------------------------------------|-------------------|--------------------------|
| `{<thread>}:active` thread marker             | thread            | thread TTL, refreshed    |
| `{<thread>}:conv` binding (hash)              | thread            | thread TTL, refreshed    |
| `{<thread>}:done` finished-post counter       | thread            | thread TTL, refreshed    |
| `{<thread>}:state` providers' values (hash)   | thread            | thread TTL, refreshed    |
| `{<thread>}:people` who posted (set)          | thread            | thread TTL, refreshed    |
| `{<thread>}:feedback` thumbs up/down (hash)   | thread            | thread TTL, refreshed    |
| `{<thread>}:lease` reply lease                | thread            | lease seconds (renewed)  |
| `{<thread>}:reply:<msg>` reply record (hash)  | thread            | RECORD_TTL (7 days)      |
| `{<thread>}:notice:<msg>` refusal sent        | thread            | DEDUPE_TTL (7 days)      |
| `{<thread>}:attempts:<msg>` failed attempts   | thread            | DEDUPE_TTL (7 days)      |
| `{<thread>}:command:<msg>` command carried out| thread            | DEDUPE_TTL (7 days)      |
| `{<thread>}:posts` the thread's post ids (set)| thread            | max(thread TTL, 7 days)  |
| `replymsg:<platform>:<tenant>:<channel>:<msg>`| none              | RECORD_TTL (7 days)      |
| `{inbox:<n>}:stream` inbox (Stream)           | inbox shard       | none: entries are acked  |
| `{inbox:<n>}:seen:<thread>:<msg>` dedupe      | inbox shard       | DEDUPE_TTL (7 days)      |
| `{inbox:<n>}:seq:<thread>` post counter       | inbox shard       | thread TTL, refreshed    |
| `budget:{<scope>}` edit budget (hash)         | rate scope        | refill time + 60 s       |
| `budget:{<scope>}:first` first texts waiting  | rate scope        | refill time + 60 s       |
| `budget:{<scope>}:final` finals waiting       | rate scope        | refill time + 60 s       |
| `budget:{<scope>}:log` sliding window grants  | rate scope        | window + FLIGHT + 60 s   |
| `budget:{<scope>}:replies` open replies (zset)| rate scope        | OPEN_REPLY + 60 s        |
| `rate:{<platform>:<tenant>:<user>}` post count| user              | one rate window (60 s)   |
| `rate:{<platform>:<tenant>:<user>}:post:<msg>`| user              | one rate window (60 s)   |
| `channel:<scope>` channel settings (hash)     | none              | kept: it is configuration|
| `lastthread:<scope>:<user>` user's last thread| none              | thread TTL, rewritten    |
| `plugin:<platform>:<tenant>:<name>` a value   | none              | the plugin's (or kept)   |
| `deadletters` posts given up on (Stream)      | none              | kept until replayed      |
| `forgotten` digests of forgotten posts (zset) | none              | thread TTL, pruned       |
| `control` (pub/sub channel, not a key)        | —                 | —                        |
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from bridge.contracts import ThreadKey, escape_id, join_ids

DAY = 24 * 3600
THREAD_TTL = 90 * DAY
"""The default of BRIDGE_THREAD_TTL_DAYS, in seconds."""
RECORD_TTL = 7 * DAY
DEDUPE_TTL = 7 * DAY

ACTIVE = "active"
CONV = "conv"
DONE = "done"
LEASE = "lease"
STATE = "state"
"""The hash behind `ThreadState`: one field per provider value (`openai:history`, …)."""
PEOPLE = "people"
FEEDBACK = "feedback"
"""The hash of a thread's feedback presses: one field per reply and person (a hash of the
user), the last press winning; kept and forgotten with the thread."""
POSTS = "posts"
"""The set of a thread's post ids: names its per-post keys (`reply:`, `notice:`, `attempts:`
and the inbox's `seen:`), so forget deletes them by name. Posts accepted before the index
existed are not in it; their per-post keys expire within 7 days."""
PER_POST = ("reply", "notice", "attempts", "command")

THREAD_DATA = (ACTIVE, CONV, DONE, STATE, PEOPLE, FEEDBACK)
"""A thread's keys that live while the thread is used; each accepted post refreshes them."""
FIXED = (*THREAD_DATA, LEASE, POSTS)
"""Every key of a thread whose name needs nothing but the thread."""


def posts_ttl(thread_ttl: int) -> int:
    """The post index outlives every key it names: thread data and the 7-day records."""
    return max(thread_ttl, RECORD_TTL, DEDUPE_TTL)


_ID = r"[^:{}]+"
"""One id segment of a key (a team, channel, user or message id): every id is escaped
(`escape_id`), so a segment holds no colon and no brace whatever the platform's ids hold."""


class Keys:
    """Key names for one deployment, namespaced by `prefix`."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix

    def thread(self, thread: ThreadKey, suffix: str) -> str:
        """A key that belongs to one thread; all of a thread's keys share its hash tag."""
        return f"{self.prefix}{{{thread}}}:{suffix}"

    def reply(self, thread: ThreadKey, message_id: str) -> str:
        return self.thread(thread, f"reply:{escape_id(message_id)}")

    def notice(self, thread: ThreadKey, message_id: str) -> str:
        """Marks that a post was answered with a notice (a refusal), so a redelivery is not."""
        return self.thread(thread, f"notice:{escape_id(message_id)}")

    def command(self, thread: ThreadKey, message_id: str) -> str:
        """Marks that the command in a post was carried out, so a second delivery (another
        replica's socket, a retry) does not carry it out again."""
        return self.thread(thread, f"command:{escape_id(message_id)}")

    def attempts(self, thread: ThreadKey, message_id: str) -> str:
        """Failed attempts at answering one post; they survive restarts and takeovers."""
        return self.thread(thread, f"attempts:{escape_id(message_id)}")

    def posts(self, thread: ThreadKey) -> str:
        return self.thread(thread, POSTS)

    def feedback(self, thread: ThreadKey) -> str:
        return self.thread(thread, FEEDBACK)

    def feedback_family(self, platform: str) -> tuple[str, re.Pattern[str]]:
        """A MATCH pattern for the feedback hashes of every thread of `platform`, and the
        shape a key it finds must have after the prefix (`owns`); the group is the thread."""
        head = f"{{{escape_id(platform)}:"
        pattern = f"{_glob_escape(self.prefix + head)}*{_glob_escape('}:' + FEEDBACK)}"
        shape = rf"\{{({re.escape(escape_id(platform))}:{_ID}:{_ID}:[^{{}}]+)\}}:{FEEDBACK}"
        return pattern, re.compile(shape)

    def thread_keys(self, thread: ThreadKey, message_ids: Iterable[str]) -> list[str]:
        """Every key of `thread` under its hash tag, given its post ids (one DEL, one slot)."""
        fixed = [self.thread(thread, suffix) for suffix in FIXED]
        ids = sorted(set(message_ids))
        per_post = [self.thread(thread, f"{kind}:{escape_id(m)}") for m in ids for kind in PER_POST]
        return fixed + per_post

    def inbox_thread_keys(
        self, shard: int, thread: ThreadKey, message_ids: Iterable[str]
    ) -> list[str]:
        """The inbox's keys of `thread` in its shard: the post counter and dedupe marks."""
        seen = [self.inbox_seen(shard, thread, m) for m in sorted(set(message_ids))]
        return [self.inbox_seq(shard, thread), *seen]

    def tenant_families(self, platform: str, tenant: str) -> list[tuple[str, re.Pattern[str]]]:
        """Where keys naming one workspace or guild live: a SCAN MATCH pattern per key family
        (the prefix, then a literal family name) and the exact shape a key it finds must have
        after the prefix to be ours (`owns`)."""
        owner = re.escape(f"{join_ids(platform, tenant)}:")
        head, glob = _glob_escape(self.prefix), _glob_escape(f"{join_ids(platform, tenant)}:")
        thread = rf"\{{{owner}{_ID}:[^{{}}]+\}}"
        families = [
            (f"{{{glob}*", rf"{thread}:[a-z_]+(:{_ID})?"),
            (f"{{inbox:*}}:se*:{glob}*", rf"\{{inbox:\d+\}}:(seq|seen):{owner}{_ID}:[^{{}}]+"),
            (f"replymsg:{glob}*", rf"replymsg:{owner}{_ID}:{_ID}"),
            (f"channel:{glob}*", rf"channel:{owner}{_ID}"),
            (f"lastthread:{glob}*", rf"lastthread:{owner}{_ID}:{_ID}"),
            (f"budget:{{{glob}*", rf"budget:\{{{owner}[^{{}}]+\}}(:first|:final|:log|:replies)?"),
            (f"rate:{{{glob}*", rf"rate:\{{{owner}{_ID}\}}(:post:{_ID})?"),
            (f"plugin:{glob}*", rf"plugin:{owner}{_ID}"),
        ]
        return [(head + pattern, re.compile(shape)) for pattern, shape in families]

    def owns(self, key: str | bytes, shape: re.Pattern[str]) -> bool:
        """`key` (as SCAN returns it) is this deployment's and has `shape` after the prefix (a
        key of a deployment whose prefix extends ours has that prefix's rest in front)."""
        name = key.decode(errors="replace") if isinstance(key, bytes) else key
        rest = name[len(self.prefix) :]
        return name.startswith(self.prefix) and shape.fullmatch(rest) is not None

    def dead_letters(self) -> str:
        return f"{self.prefix}deadletters"

    def forgotten(self) -> str:
        """Digests of forgotten posts, so a dead letter filed during a forget is not replayed."""
        return f"{self.prefix}forgotten"

    def reply_index(self, platform: str, tenant: str, channel: str, message_id: str) -> str:
        """A Slack `ts` is unique only within its channel, so the channel is part of the key."""
        return f"{self.prefix}replymsg:{join_ids(platform, tenant, channel, message_id)}"

    def channel(self, scope: str) -> str:
        return f"{self.prefix}channel:{_untagged(scope)}"

    def last_thread(self, scope: str, user: str) -> str:
        """The thread a user last posted in, per channel (Slack slash commands name none)."""
        return f"{self.prefix}lastthread:{_untagged(scope)}:{escape_id(user)}"

    def plugin(self, platform: str, tenant: str, name: str) -> str:
        """A value a plugin keeps for one tenant (`bridge.contracts.PluginState`)."""
        return f"{self.prefix}plugin:{join_ids(platform, tenant, name)}"

    def plugin_tenants(self, platform: str, name: str) -> tuple[str, re.Pattern[str]]:
        """A MATCH pattern for value `name` of every tenant of `platform`, and the exact shape
        a key it finds must have after the prefix (`owns`); the shape's group is the tenant."""
        head = f"plugin:{escape_id(platform)}:"
        tail = f":{escape_id(name)}"
        pattern = f"{_glob_escape(self.prefix + head)}*{_glob_escape(tail)}"
        return pattern, re.compile(rf"{re.escape(head)}({_ID}){re.escape(tail)}")

    def inbox_tag(self, shard: int) -> str:
        return f"{self.prefix}{{inbox:{shard}}}"

    def inbox_stream(self, shard: int) -> str:
        return f"{self.inbox_tag(shard)}:stream"

    def inbox_seen(self, shard: int, thread: ThreadKey, message_id: str) -> str:
        return f"{self.inbox_tag(shard)}:seen:{thread}:{escape_id(message_id)}"

    def inbox_seq(self, shard: int, thread: ThreadKey) -> str:
        return f"{self.inbox_tag(shard)}:seq:{thread}"

    def budget(self, scope: str) -> str:
        return f"{self.prefix}budget:{{{_untagged(scope)}}}"

    def budget_first(self, scope: str) -> str:
        """First texts waiting on a scope (a sorted set): lower priorities hold back for them."""
        return f"{self.budget(scope)}:first"

    def budget_final(self, scope: str) -> str:
        """Finals waiting on a scope (a sorted set): interim edits and status hold back."""
        return f"{self.budget(scope)}:final"

    def budget_replies(self, scope: str) -> str:
        """Replies open on a long window (a sorted set by expiry): each keeps a final's slot."""
        return f"{self.budget(scope)}:replies"

    def budget_log(self, scope: str) -> str:
        """A sliding-window scope's recent grants (a sorted set by time)."""
        return f"{self.budget(scope)}:log"

    def user_rate(self, platform: str, tenant: str, user: str) -> str:
        return f"{self.prefix}rate:{{{join_ids(platform, tenant, user)}}}"

    def control(self) -> str:
        return f"{self.prefix}control"


def _untagged(scope: str) -> str:
    """`scope` with no brace, so a key naming it has exactly the hash tag the key map gives it
    (a scope made by `join_ids` has none; a messenger's route template may have some)."""
    return scope.replace("{", "%7B").replace("}", "%7D")


def _glob_escape(text: str) -> str:
    """`text` as a literal inside a Redis MATCH pattern."""
    return "".join("\\" + c if c in "*?[]\\" else c for c in text)
