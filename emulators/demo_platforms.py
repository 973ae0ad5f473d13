"""One small driver per messenger for `threadbridge demo`: a person posts into one thread of the
platform's emulator, and the demo reads the bot's reply messages there.

The first post opens the thread with a mention of the bot, as each platform's people do; later
posts continue it without one. Everything else is the emulators' own API (the tests and the
benchmark drive them the same way).
"""

from __future__ import annotations

from typing import Any, Generic, NamedTuple, Protocol, TypeVar

from emulators.base import Emulator
from emulators.discord import DiscordEmulator
from emulators.mattermost import MattermostEmulator
from emulators.slack import SlackEmulator
from emulators.teams import CHANNEL as TEAMS_CHANNEL
from emulators.teams import TeamsEmulator

Emu = TypeVar("Emu", bound=Emulator)


class Reply(NamedTuple):
    """One of the bot's messages in the thread: its text now, and how often it was edited."""

    text: str
    edits: int


class Driver(Protocol):
    """What the demo needs of a messenger: its emulator, the adapter's settings for it, a
    person's posts and the bot's replies in the one thread."""

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    def settings(self) -> dict[str, Any]:
        """The adapter's own settings (without the prefix) that point it at the emulator."""
        ...

    def serve(self, http_port: int) -> None:
        """Tell the emulator where the bridge listens (for platforms that push over HTTP)."""
        ...

    async def say(self, text: str) -> None: ...

    def replies(self) -> list[str]:
        """The texts of the bot's messages in the thread, oldest first."""
        ...

    def edits(self) -> int: ...


class EmulatorDriver(Generic[Emu]):
    """What every driver does alike: run its emulator, and count replies and edits from the bot's
    messages in the thread, which each platform lists as `Reply`s in `_bot_replies`."""

    def __init__(self, emu: Emu) -> None:
        self.emu = emu

    async def start(self) -> None:
        await self.emu.start()

    async def stop(self) -> None:
        await self.emu.stop()

    def serve(self, http_port: int) -> None:
        """Only Teams pushes to the bridge; the others reach it over the bridge's own connection."""
        del http_port

    def replies(self) -> list[str]:
        return [reply.text for reply in self._bot_replies()]

    def edits(self) -> int:
        return sum(reply.edits for reply in self._bot_replies())

    def _bot_replies(self) -> list[Reply]:
        """The bot's messages in the thread, oldest first; none before the thread is opened."""
        raise NotImplementedError


class SlackDriver(EmulatorDriver[SlackEmulator]):
    """Slack in Socket Mode: a mention in a channel, then replies under its `thread_ts`."""

    channel = "C0DEMO"

    def __init__(self) -> None:
        super().__init__(SlackEmulator())
        self.root = ""

    def settings(self) -> dict[str, Any]:
        emu = self.emu
        return {"bot_token": emu.bot_token, "app_token": emu.app_token, "api_url": emu.api_url}

    async def say(self, text: str) -> None:
        if self.root:
            await self.emu.user_post(self.channel, text, thread_ts=self.root)
        else:
            mention = f"<@{self.emu.bot_user_id}> {text}"
            self.root = await self.emu.user_post(self.channel, mention)

    def _bot_replies(self) -> list[Reply]:
        messages = self.emu.bot_replies(self.channel, self.root) if self.root else []
        return [Reply(m.text, len(m.edits) - 1) for m in messages]


class DiscordDriver(EmulatorDriver[DiscordEmulator]):
    """Discord over the gateway: a mention in a text channel opens a thread on that message."""

    def __init__(self) -> None:
        super().__init__(DiscordEmulator())
        self.thread = 0

    def settings(self) -> dict[str, Any]:
        emu = self.emu
        return {"token": emu.token, "api_url": emu.api_url, "gateway_url": emu.gateway_url}

    async def say(self, text: str) -> None:
        if self.thread:
            await self.emu.user_message(self.thread, text)
        else:
            post = await self.emu.user_message(self.emu.channel.id, text, mentions_bot=True)
            self.thread = post.id

    def _bot_replies(self) -> list[Reply]:
        messages = self.emu.bot_messages(self.thread) if self.thread else []
        return [Reply(m.content, len(m.edits)) for m in messages]


class TeamsDriver(EmulatorDriver[TeamsEmulator]):
    """Teams: the emulator posts activities to the bridge's messaging endpoint; a mention in a
    channel roots the thread."""

    def __init__(self) -> None:
        super().__init__(TeamsEmulator())
        self.root = ""

    def settings(self) -> dict[str, Any]:
        auth = self.emu.auth
        return {
            "app_id": auth.app_id,
            "app_password": auth.password,
            "tenant_id": auth.tenant,
            "openid_metadata_url": self.emu.metadata_url,
            "token_url": self.emu.token_url,
        }

    def serve(self, http_port: int) -> None:
        self.emu.bot_endpoints = [f"http://127.0.0.1:{http_port}/api/messages"]

    async def say(self, text: str) -> None:
        if self.root:
            await self.emu.thread_reply(self.root, text)
        else:
            self.root = (await self.emu.channel_post(text)).id

    def _bot_replies(self) -> list[Reply]:
        messages = self.emu.bot_messages(TEAMS_CHANNEL, self.root) if self.root else []
        return [Reply(m.text, len(m.history) - 1) for m in messages]


class MattermostDriver(EmulatorDriver[MattermostEmulator]):
    """Mattermost over REST and its WebSocket: a mention in a channel, then posts under it."""

    def __init__(self) -> None:
        super().__init__(MattermostEmulator())
        self.root = ""

    def settings(self) -> dict[str, Any]:
        return {"url": self.emu.api_url, "token": self.emu.token}

    async def say(self, text: str) -> None:
        channel = self.emu.channel.id
        if self.root:
            await self.emu.user_post(channel, text, self.root)
        else:
            self.root = (await self.emu.mention(channel, text)).id

    def _bot_replies(self) -> list[Reply]:
        posts = self.emu.bot_posts(self.root) if self.root else []
        return [Reply(p.message, len(p.edits) - 1) for p in posts]


DRIVERS: dict[str, type[Driver]] = {
    "slack": SlackDriver,
    "discord": DiscordDriver,
    "teams": TeamsDriver,
    "mattermost": MattermostDriver,
}
"""The platforms the demo can run, by adapter name."""
