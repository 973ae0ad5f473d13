"""Unit tests of Discord ingest's pure logic: which messages are answered, in which thread.

The messages are real `discord.Message` objects: the Discord emulator writes the gateway
frames it would send (no server runs) and discord.py's own `ConnectionState` parses them, as
the client's websocket hands them over; only system messages change a frame's `type`.
"""

from __future__ import annotations

from typing import Any, cast

import discord
import pytest
from discord.http import HTTPClient
from discord.state import ConnectionState
from discord.types.user import User as UserData
from discord.user import ClientUser
from discord.utils import MISSING

from adapters.discord.client import intents
from adapters.discord.ingest import DM_TENANT, read_message
from bridge.contracts import Attachment, Incoming, ThreadKey
from emulators.discord import DiscordEmulator, payloads
from emulators.discord.gateway import Session
from emulators.discord.state import Channel, Message

PINS_ADD, MEMBER_JOIN, THREAD_CREATED = 6, 7, 18


class Client:
    """The emulator's gateway frames for one session, parsed by discord.py's ConnectionState.

    The bot user is set as `parse_ready` sets it; GUILD_CREATE and every later frame go through
    the state's parsers, which build the `discord.Message` that `on_message` gets.
    """

    def __init__(self, guild_known: bool = True) -> None:
        """`guild_known`: False leaves out GUILD_CREATE, as when a message arrives first."""
        self.emu = DiscordEmulator()
        self.session = Session("unit", intents().value, None)
        self.emu.gateway.sessions[self.session.id] = self.session
        self.parsed: list[discord.Message] = []
        self.state = ConnectionState(
            dispatch=self._dispatch,
            handlers={},
            hooks={},
            http=HTTPClient(MISSING),
            intents=intents(),
        )
        self.state.user = ClientUser(
            state=self.state, data=cast(UserData, payloads.user(self.emu.bot))
        )
        if guild_known:
            self.state.parsers["GUILD_CREATE"](
                payloads.guild_create(self.emu.world, self.emu.guild)
            )
        self._fed = 0

    @property
    def bot_id(self) -> int:
        return self.emu.bot_id

    def _dispatch(self, event: str, *args: Any) -> None:
        if event == "message":
            self.parsed.append(args[0])

    def feed(self) -> list[discord.Message]:
        """Hand discord.py the frames the emulator logged since the last call; the messages."""
        frames = list(self.session.log)[self._fed :]
        self._fed = len(self.session.log)
        before = len(self.parsed)
        for frame in frames:
            self.state.parsers[frame["t"]](frame["d"])
        return self.parsed[before:]

    async def post(self, channel_id: int, content: str, **options: Any) -> discord.Message:
        """A person's message as the bridge's `on_message` receives it."""
        await self.emu.user_message(channel_id, content, **options)
        (message,) = self.feed()
        return message

    async def bot_post(
        self, channel_id: int, content: str, author: str | None = None
    ) -> discord.Message:
        """The bridge's own message (`author` None) or another bot's, echoed by the gateway."""
        channel = self.emu.world.channels[channel_id]
        if author is None:
            await self.emu.post(channel, self.emu.bot, content)
        else:
            await self.emu.other_bot_message(channel_id, content, author)
        (message,) = self.feed()
        return message

    async def bot_thread(self, start: discord.Message) -> Channel:
        """The thread the bridge opens from `start` (its id is the message's), announced."""
        parent = self.emu.world.channels[start.channel.id]
        thread = self.emu.world.add_thread(parent, start.id, "a thread", self.emu.bot)
        await self.emu.announce_thread(thread)
        assert self.feed() == []
        return thread

    def system(self, channel_id: int, kind: int, content: str = "") -> discord.Message:
        """A system message of type `kind` in the channel, authored by the person, as Discord
        sends it (a frame like any message's, with its own `type`)."""
        channel = self.emu.world.channels[channel_id]
        message = Message(
            self.emu.world.ids.next(), channel.id, channel.guild_id, self.emu.user, content
        )
        data = payloads.message(self.emu.world, message, gateway=True)
        self.state.parsers["MESSAGE_CREATE"](data | {"type": kind})
        return self.parsed[-1]


@pytest.fixture
def client() -> Client:
    return Client()


def read(client: Client, message: discord.Message) -> Incoming | None:
    return read_message(message, client.bot_id)


async def test_a_mention_in_a_channel_opens_a_thread_named_after_the_text(client: Client) -> None:
    message = await client.post(
        client.emu.channel.id, "Explain streaming please", mentions_bot=True
    )
    incoming = read(client, message)
    assert incoming is not None
    assert incoming.starts_thread and incoming.addressed
    guild, channel = str(client.emu.guild.id), str(client.emu.channel.id)
    assert incoming.post.thread == ThreadKey("discord", guild, channel, str(message.id))
    assert incoming.post.text == "Explain streaming please"
    assert incoming.post.extra == {"new_thread": "Explain streaming please"}
    assert (incoming.post.message_id, incoming.post.author) == (
        str(message.id),
        str(client.emu.user.id),
    )
    assert incoming.post.ts == message.created_at.timestamp()


async def test_a_nickname_mention_counts_and_is_stripped(client: Client) -> None:
    message = await client.post(client.emu.channel.id, f"hi <@!{client.bot_id}> there")
    incoming = read(client, message)
    assert incoming is not None and incoming.starts_thread
    assert incoming.post.text == "hi  there"


async def test_a_channel_message_without_a_mention_is_not_looked_at(client: Client) -> None:
    assert read(client, await client.post(client.emu.channel.id, "just chatting")) is None


async def test_a_post_in_the_bots_thread_joins_it_without_a_mention(client: Client) -> None:
    start = await client.post(client.emu.channel.id, "first", mentions_bot=True)
    thread = await client.bot_thread(start)
    message = await client.post(thread.id, "a follow-up", reply_to=start.id)
    assert isinstance(message.channel, discord.Thread)
    incoming = read(client, message)
    assert incoming is not None
    guild, channel = str(client.emu.guild.id), str(client.emu.channel.id)
    assert incoming.post.thread == ThreadKey("discord", guild, channel, str(thread.id))
    assert not incoming.starts_thread and not incoming.addressed
    assert incoming.post.text == "a follow-up" and incoming.post.extra == {}


async def test_a_mention_in_a_thread_may_open_it_without_a_new_thread(client: Client) -> None:
    """A mention in someone else's thread starts the conversation there (no thread is made)."""
    start = await client.post(client.emu.channel.id, "let us talk")
    thread = await client.emu.create_thread(start.id, "A user's thread")
    client.feed()
    unmentioned = read(client, await client.post(thread.id, "nobody called the bot"))
    assert unmentioned is not None and not unmentioned.starts_thread
    incoming = read(client, await client.post(thread.id, "now you", mentions_bot=True))
    assert incoming is not None and incoming.starts_thread and incoming.addressed
    assert incoming.post.thread.thread == str(thread.id) and incoming.post.extra == {}


async def test_the_bots_own_and_other_bots_messages_are_ignored(client: Client) -> None:
    start = await client.post(client.emu.channel.id, "first", mentions_bot=True)
    thread = await client.bot_thread(start)
    assert read(client, await client.bot_post(thread.id, "an answer")) is None
    mention = f"<@{client.bot_id}> I am a bot"
    assert read(client, await client.bot_post(thread.id, mention, "otherbot")) is None
    assert read(client, await client.bot_post(client.emu.channel.id, mention, "otherbot")) is None


@pytest.mark.parametrize(
    ("kind", "content"),
    [(PINS_ADD, ""), (THREAD_CREATED, "a new thread"), (MEMBER_JOIN, "")],
    ids=["pin", "thread-created", "member-join"],
)
async def test_system_messages_are_ignored_in_the_bots_thread_and_dms(
    client: Client, kind: int, content: str
) -> None:
    """Discord authors them as the person who pinned or joined; they are not posts."""
    start = await client.post(client.emu.channel.id, "first", mentions_bot=True)
    thread = await client.bot_thread(start)
    dm = client.emu.dm_channel(client.emu.user)
    for channel_id in (client.emu.channel.id, thread.id, dm.id):
        message = client.system(channel_id, kind, content)
        assert message.is_system() and message.author.id == client.emu.user.id
        assert read(client, message) is None


async def test_attachments_are_named_and_linked(client: Client) -> None:
    files = [
        client.emu.attachment("chart.png", "image/png"),
        client.emu.attachment("notes.txt", "text/plain"),
    ]
    files[1].pop("content_type")
    message = await client.post(
        client.emu.channel.id, "see these", mentions_bot=True, attachments=files
    )
    incoming = read(client, message)
    assert incoming is not None
    assert incoming.post.attachments == ("chart.png", "notes.txt")
    assert incoming.post.files == (
        Attachment("chart.png", files[0]["url"], "image/png"),
        Attachment("notes.txt", files[1]["url"], ""),
    )


async def test_a_bare_mention_is_passed_on_with_empty_text(client: Client) -> None:
    """Refusing an empty post (with a hint) is the shared ingest's call, not the adapter's."""
    incoming = read(client, await client.post(client.emu.channel.id, "", mentions_bot=True))
    assert incoming is not None and incoming.starts_thread
    assert incoming.post.text == "" and incoming.post.files == ()
    assert incoming.post.extra["new_thread"]


async def test_a_dm_is_one_conversation_without_a_mention(client: Client) -> None:
    dm = client.emu.dm_channel(client.emu.user)
    message = await client.post(dm.id, "hello there", guild=False)
    assert message.guild is None and isinstance(message.channel, discord.DMChannel)
    incoming = read(client, message)
    assert incoming is not None
    assert incoming.post.thread == ThreadKey("discord", DM_TENANT, str(dm.id), str(dm.id))
    assert incoming.starts_thread and incoming.addressed
    assert incoming.post.extra == {}


async def test_the_author_name_is_the_display_name(client: Client) -> None:
    incoming = read(client, await client.post(client.emu.channel.id, "hi", mentions_bot=True))
    assert incoming is not None and incoming.author_name is not None
    assert await incoming.author_name() == client.emu.user.username


async def test_a_guild_message_before_its_guild_create_is_read_as_the_guilds() -> None:
    """discord.py has no guild object yet (`message.guild` is None): the channel's guild id
    says it is no DM, so a mention opens a thread in the guild's channel."""
    client = Client(guild_known=False)
    message = await client.post(client.emu.channel.id, "early bird", mentions_bot=True)
    assert message.guild is None and isinstance(message.channel, discord.PartialMessageable)
    incoming = read(client, message)
    assert incoming is not None and incoming.starts_thread and incoming.addressed
    guild, channel = str(client.emu.guild.id), str(client.emu.channel.id)
    assert incoming.post.thread == ThreadKey("discord", guild, channel, str(message.id))
    assert incoming.post.extra == {"new_thread": "early bird"}
    assert read(client, await client.post(client.emu.channel.id, "no mention")) is None
