"""The messenger side of the benchmark: one emulator, N threads, and what each thread showed.

Discord (the default) gives each thread its own text channel, so every reply has its own
per-channel edit budget, as 100 busy channels would. Slack has one workspace: its Tier 3
`chat.update` budget (~50/min) is shared by every thread, so replies get far fewer edits.
"""

from __future__ import annotations

from bench import schedule
from bench.messenger import EmulatedMessenger, Messenger, Shown
from bench.provider import question
from emulators.base import Call
from emulators.discord import Channel, DiscordEmulator
from emulators.discord import Message as DiscordMessage
from emulators.mattermost import MattermostEmulator
from emulators.mattermost import Post as MattermostPost
from emulators.slack import SlackEmulator
from emulators.slack.ratelimit import DOCUMENTED, POST_PER_CHANNEL

SLACK_PLACEHOLDER = "_…thinking_"
UNLIMITED_PER_SECOND = 100_000
"""What the bridge is told the global limit is when the emulator enforces none."""
SLACK_EDITS_PER_MINUTE = 50
SLACK_CHAT_UPDATE_BURST = 5
DISCORD_PAGE = 2000
SLACK_PAGE = 3900
"""The page sizes the bridge splits replies at (adapters' `format.PAGE_LIMIT`)."""
DISCORD_PER_CHANNEL, DISCORD_PER_SECONDS = 5, 5.0


class DiscordMessenger(EmulatedMessenger[DiscordEmulator]):
    """The Discord emulator with one text channel per thread and Discord's limits on."""

    name = "discord"
    page = DISCORD_PAGE

    def __init__(self, global_per_second: int | None = None) -> None:
        super().__init__(DiscordEmulator())
        self.emu.enforce_limits(
            per_channel=DISCORD_PER_CHANNEL,
            per_seconds=DISCORD_PER_SECONDS,
            global_per_second=global_per_second,
        )
        self._global = global_per_second
        self._channels: list[Channel] = []
        self._posts: dict[int, DiscordMessage] = {}
        self._seen_calls: list[Call] = []
        self._first_posts: dict[str, str] = {}

    async def start(self, threads: int) -> None:
        self._channels = [
            self.emu.create_text_channel(None, f"bench-{i:04d}") for i in range(threads)
        ]
        await self.emu.start()

    def env(self) -> dict[str, str]:
        return {
            "DISCORD_TOKEN": self.emu.token,
            "DISCORD_API_URL": self.emu.api_url,
            "DISCORD_GATEWAY_URL": self.emu.gateway_url,
            "DISCORD_REQUESTS_PER_SECOND": str(self._global or UNLIMITED_PER_SECOND),
        }

    def connected(self) -> bool:
        return bool(self.emu.gateway.sessions)

    async def post(self, index: int) -> None:
        channel = self._channels[index]
        self._posts[index] = await self.emu.user_message(
            channel.id, question(index), mentions_bot=True
        )

    def text(self, index: int) -> str:
        post = self._posts.get(index)
        if post is None:
            return ""
        return "".join(m.content for m in self.emu.bot_messages(post.id))

    def _created_content(self, message: DiscordMessage) -> str:
        """The content a reply's first message was posted with (the emulator keeps only the
        content after edits): the body of the first message POST to its thread."""
        if not message.edits:
            return message.content
        if len(self._seen_calls) < len(self.emu.calls):
            self._seen_calls = self.emu.calls[:]
            self._first_posts = {}
            for call in reversed(self._seen_calls):
                parts = call.path.rstrip("/").split("/")
                if call.method == "POST" and parts[-1] == "messages" and parts[-3] == "channels":
                    body = call.body if isinstance(call.body, dict) else {}
                    self._first_posts[parts[-2]] = str(body.get("content") or "")
        return self._first_posts.get(str(message.channel_id), message.content)

    def _reply(self, index: int) -> tuple[float, list[Shown]]:
        post = self._posts[index]
        shown = []
        for number, message in enumerate(self.emu.bot_messages(post.id)):
            created = self._created_content(message) if number == 0 else None
            writes = [(message.created_at, created)]
            writes += zip(message.edited_at, message.edits, strict=True)
            shown.append(Shown(message.content, len(message.edits), message.created_at, writes))
        return post.created_at, shown

    @property
    def rate_limited(self) -> int:
        return self.emu.rate_limited

    def best(self, loads: list[schedule.Load]) -> list[schedule.Best]:
        budgets = schedule.DiscordBudgets(
            DISCORD_PER_CHANNEL, DISCORD_PER_SECONDS, self._global, new_threads=True
        )
        return schedule.discord(loads, budgets)


class SlackMessenger(EmulatedMessenger[SlackEmulator]):
    """The Slack emulator in Socket Mode, every documented per-method limit enforced for the
    workspace (Tier 3 `chat.update`, Tier 2 `chat.startStream`/`stopStream`, Tier 4
    `chat.appendStream`, `chat.postMessage` per channel)."""

    name = "slack"
    page = SLACK_PAGE
    placeholder = SLACK_PLACEHOLDER

    def __init__(self) -> None:
        super().__init__(SlackEmulator())
        self.emu.enforce_documented_limits()
        self.emu.rate_limit("chat.update", SLACK_EDITS_PER_MINUTE, SLACK_CHAT_UPDATE_BURST)
        self._posts: dict[int, str] = {}

    async def start(self, threads: int) -> None:
        await self.emu.start()

    def env(self) -> dict[str, str]:
        return {
            "SLACK_BOT_TOKEN": self.emu.bot_token,
            "SLACK_APP_TOKEN": self.emu.app_token,
            "SLACK_API_URL": self.emu.api_url,
            "SLACK_EDITS_PER_MINUTE": str(SLACK_EDITS_PER_MINUTE),
        }

    def connected(self) -> bool:
        return bool(self.emu.socket.open_links)

    @staticmethod
    def channel(index: int) -> str:
        return f"CB{index:07d}"

    async def post(self, index: int) -> None:
        text = f"<@{self.emu.bot_user_id}> {question(index)}"
        self._posts[index] = await self.emu.user_post(self.channel(index), text)

    def text(self, index: int) -> str:
        ts = self._posts.get(index)
        if ts is None:
            return ""
        return "".join(m.text for m in self.emu.bot_replies(self.channel(index), ts))

    def _reply(self, index: int) -> tuple[float, list[Shown]]:
        ts = self._posts[index]
        shown = [
            Shown(
                m.text, len(m.edits) - 1, float(m.ts), list(zip(m.edit_times, m.edits, strict=True))
            )
            for m in self.emu.bot_replies(self.channel(index), ts)
        ]
        return float(ts), shown

    @property
    def rate_limited(self) -> int:
        return sum(self.emu.rate_limited.values())

    def best(self, loads: list[schedule.Load]) -> list[schedule.Best]:
        budgets = schedule.SlackBudgets(
            start=DOCUMENTED["chat.startStream"],
            append=DOCUMENTED["chat.appendStream"],
            update=(SLACK_EDITS_PER_MINUTE, SLACK_CHAT_UPDATE_BURST),
            post_per_channel=POST_PER_CHANNEL,
        )
        return schedule.slack(loads, budgets)


MATTERMOST_PER_SECOND, MATTERMOST_BURST = 10.0, 100
"""The server's limiter at its defaults (RateLimitSettings PerSec 10, MaxBurst 100), on."""
MATTERMOST_PAGE = 16383 - 256
"""The page size the bridge splits at (the server's MaxPostSize less room for defusing)."""


class MattermostMessenger(EmulatedMessenger[MattermostEmulator]):
    """The Mattermost emulator with its rate limiter on at the server's defaults: one bucket
    per bot token, shared by every thread; each thread is a mention in its own channel."""

    name = "mattermost"
    page = MATTERMOST_PAGE

    def __init__(self) -> None:
        super().__init__(MattermostEmulator())
        self.emu.limit(MATTERMOST_PER_SECOND, MATTERMOST_BURST)
        self._posts: dict[int, MattermostPost] = {}
        self._channels: list[str] = []

    async def start(self, threads: int) -> None:
        self._channels = [self.emu.new_channel(f"bench-{i:04d}").id for i in range(threads)]
        await self.emu.start()

    def env(self) -> dict[str, str]:
        return {
            "MATTERMOST_URL": self.emu.api_url,
            "MATTERMOST_TOKEN": self.emu.token,
            "MATTERMOST_REQUESTS_PER_SECOND": str(MATTERMOST_PER_SECOND),
            "MATTERMOST_BURST": str(MATTERMOST_BURST),
        }

    def connected(self) -> bool:
        return bool(self.emu.sockets)

    async def post(self, index: int) -> None:
        self._posts[index] = await self.emu.mention(self._channels[index], question(index))

    def text(self, index: int) -> str:
        post = self._posts.get(index)
        return self.emu.thread_text(post.id) if post is not None else ""

    def _reply(self, index: int) -> tuple[float, list[Shown]]:
        post = self._posts[index]
        shown = [
            Shown(p.message, len(p.edits) - 1, p.edits[0][0], list(p.edits))
            for p in self.emu.bot_posts(post.id)
        ]
        return post.create_at / 1000.0, shown

    @property
    def rate_limited(self) -> int:
        return self.emu.rate_limited

    def best(self, loads: list[schedule.Load]) -> list[schedule.Best]:
        return schedule.mattermost(loads, MATTERMOST_PER_SECOND, MATTERMOST_BURST)


def messenger(platform: str, global_per_second: int | None = None) -> Messenger:
    if platform == "slack":
        return SlackMessenger()
    if platform == "mattermost":
        return MattermostMessenger()
    if platform == "teams":
        from bench.teams import TeamsMessenger

        return TeamsMessenger()
    return DiscordMessenger(global_per_second)
