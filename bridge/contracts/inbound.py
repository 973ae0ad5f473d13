"""What an adapter hands the core on the way in: a message (`Incoming`, with the adapter's
ways of answering it, `Replies`) or one use of `/threadbridge` (`Invocation`). The core decides
what each becomes (`Core.post`, `Core.command`); the adapter only reads the platform."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from bridge.contracts.data import ThreadKey, UserPost


@dataclass(frozen=True, slots=True)
class Command:
    """A thread command a post consists of (`stop`, `reset`, `policy queue`, …); the adapter
    confirms it by name (a reaction per command)."""

    name: str
    arg: str = ""


Confirm = Callable[[Command, bool], Awaitable[None]]
"""Shows the user that a command was carried out (True) or refused (False)."""
Say = Callable[[str], Awaitable[None]]
"""Posts one short message in the post's thread (refusals and hints; errors are logged)."""
IsAdmin = Callable[[], Awaitable[bool]]
"""Whether the post's author is an admin of the workspace/guild, as the platform tells."""
NameLookup = Callable[[], Awaitable[str]]
"""The author's display name, looked up only when a second person joins the thread."""
Enrich = Callable[[UserPost], Awaitable[UserPost]]
"""The post with what only the platform's API adds (the author's locale, inlined images):
called once, for a post that is no command, in a thread the bridge is in, by a user allowed."""
Check = Callable[[], Awaitable[bool]]
"""A yes/no the platform answers on demand (membership, admin rights)."""


@dataclass(frozen=True, slots=True)
class Earlier:
    """One post written in a thread before the bot was mentioned there: who (a display name),
    what, and when (Unix seconds); `user`: the author's platform id, when a person's, so the
    thread counts them among its people."""

    author: str
    text: str
    ts: float
    user: str = ""


History = Callable[[int], Awaitable[Sequence[Earlier]]]
"""The thread's posts before the post at hand, oldest first, at most the given number of the
newest: only that thread's, none of the bot's own, never the post itself, and only what the
bot's token may read. The core bounds the wait and answers the post alone without them."""


@dataclass(frozen=True, slots=True)
class Incoming:
    """A message in a thread the bridge may answer; `starts_thread` when it opens one.

    `addressed`: it mentions the bot or is a DM (a channel in mentions-only mode answers only
    those). `author_name`: how to name the author when several people share the thread.
    `enrich`: adds to the post what costs the platform a call, only when it is worth it.
    `history`: given when the post may open a conversation in a thread that already has posts
    (a late mention); the core asks it only when the bridge is not yet in the thread.
    """

    post: UserPost
    starts_thread: bool
    addressed: bool = True
    author_name: NameLookup | None = None
    enrich: Enrich | None = None
    history: History | None = None


@dataclass(frozen=True, slots=True)
class Replies:
    """The adapter's ways of answering a message outside a reply."""

    confirm: Confirm
    say: Say
    is_admin: IsAdmin


@dataclass(frozen=True, slots=True)
class Link:
    """A thread the caller named by a link, and what the platform says about the caller there.

    `member`: the caller is in the thread's conversation (channel member, DM participant, may
    view it). `admin`: the caller is an admin the platform lets see every channel but DMs
    (None where the platform's own view check already covers admins). `direct`: a DM, which
    only its participants may reach."""

    thread: ThreadKey
    member: Check
    direct: bool = False
    admin: Check | None = None


@dataclass(frozen=True, slots=True)
class Invocation:
    """One use of the command: where (`scope`: the channel it was typed in), by whom, with
    which words; `link` when the thread was named by a link rather than found from `scope`.
    `last_thread`: with no `thread`, act on the one `user` last posted in within `scope` (a
    platform whose commands do not say which thread they were typed in)."""

    scope: str
    thread: ThreadKey | None
    user: str
    words: tuple[str, ...]
    locale: str | None
    is_admin: Check
    command: str = "/threadbridge"
    link: Link | None = None
    last_thread: bool = False
