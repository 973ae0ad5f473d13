"""`/threadbridge <sub>` as a Discord application command, answered ephemerally (flag 64).

The command tree is synced (bulk overwrite, global) at start-up when its definition differs
from the one last synced (a hash in the core's plugin state, shared by every replica):
Discord keeps an application's commands, so re-sending the same ones on every start of every
replica only spends the bot's request budget. The interaction's channel is the thread the
command was run in, unless a `link` option names another (acted on only for who may see it:
`adapters.discord.links`), and its `locale` chooses the language.

Discord (interactions/receiving-and-responding): "you must send an initial response within 3
seconds of receiving the event. If the 3 second deadline is exceeded, the token will be
invalidated." Most commands finish well within that and are answered directly (one call);
`new` and `forget` may wait on the provider, so a command still running after
`ANSWER_WITHIN` is deferred (type 5, ephemeral: the user sees "thinking…") and its text is sent
as a followup when it finishes (the token then lasts 15 minutes). The work is never cut short
at the deadline; `Answers` owns every running command so shutdown can cancel them.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
from collections.abc import Awaitable

import discord
from discord import app_commands
from redis.exceptions import RedisError

from adapters.discord.access import is_discord_admin
from adapters.discord.ingest import DM_TENANT
from adapters.discord.links import link_to, parse_link
from bridge.contracts import Core, Invocation, ThreadKey, channel_scope

log = logging.getLogger(__name__)

NAME = "threadbridge"
LINK_HELP = "A message link (Copy Message Link) to act on that thread instead of this one"
COMMANDS = "commands"
"""The plugin-state value (under the application's id) holding the synced commands' hash."""
COMMANDS_TTL = 30 * 24 * 3600
"""How long the hash of the last synced commands lives; each start rewrites it, and a start
after it lapsed only syncs once more."""
ANSWER_WITHIN = 2.0
"""Seconds a command may run before it is deferred: a second short of Discord's 3 s deadline,
for the callback's own round trip and a busy event loop."""


def place(interaction: discord.Interaction) -> tuple[str, ThreadKey | None]:
    """The channel scope and the thread (None outside one) the command was run in."""
    channel = interaction.channel
    channel_id = str(interaction.channel_id)
    if interaction.guild_id is None:
        return channel_scope("discord", DM_TENANT, channel_id), ThreadKey(
            "discord", DM_TENANT, channel_id, channel_id
        )
    guild = str(interaction.guild_id)
    if isinstance(channel, discord.Thread):
        thread = ThreadKey("discord", guild, str(channel.parent_id), channel_id)
        return thread.scope, thread
    return channel_scope("discord", guild, channel_id), None


class Answers:
    """The commands being answered: each one's work, its deferral and its followup run in a
    task owned here, so `aclose` (adapter shutdown) cancels what discord.py would leave running."""

    def __init__(self, within: float = ANSWER_WITHIN) -> None:
        self.within = within
        self._tasks: set[asyncio.Task[None]] = set()

    async def answer(self, interaction: discord.Interaction, work: Awaitable[str]) -> None:
        """Show `work`'s text to the invoking user only, within Discord's deadline."""
        task = asyncio.create_task(self._answer(interaction, work), name="discord-slash")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        await task

    async def _answer(self, interaction: discord.Interaction, work: Awaitable[str]) -> None:
        job = asyncio.ensure_future(work)
        try:
            done, _ = await asyncio.wait({job}, timeout=self.within)
            if job in done:
                await interaction.response.send_message(
                    job.result(), ephemeral=True, allowed_mentions=discord.AllowedMentions.none()
                )
                return
            await interaction.response.defer(ephemeral=True)
            text = await job
            await interaction.followup.send(
                text, ephemeral=True, allowed_mentions=discord.AllowedMentions.none()
            )
        finally:
            job.cancel()  # a no-op once it finished; on shutdown it stops the work too

    async def aclose(self) -> None:
        """Cancel the commands still running (shutdown)."""
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task


def command_group(hub: Core, answers: Answers) -> app_commands.Group:
    group = app_commands.Group(name=NAME, description="threadbridge: this thread's conversation")

    async def work(interaction: discord.Interaction, words: tuple[str, ...], link: str) -> str:
        scope, thread = place(interaction)
        linked = None
        if link:
            found = parse_link(link)
            linked = await link_to(interaction, found) if found is not None else None
            if linked is None:
                return hub.text("link_unknown", interaction.locale.value)
            thread = linked.thread

        async def admin() -> bool:
            return is_discord_admin(interaction.user, interaction.channel)

        invocation = Invocation(
            scope=scope,
            thread=thread,
            user=str(interaction.user.id),
            words=tuple(w for w in words if w),
            locale=interaction.locale.value,
            is_admin=admin,
            command=f"/{NAME}",
            link=linked,
        )
        return await hub.command(invocation)

    async def answer(interaction: discord.Interaction, *words: str, link: str = "") -> None:
        await answers.answer(interaction, work(interaction, words, link))

    @group.command(name="new", description="Start a fresh conversation in this thread")
    @app_commands.describe(link=LINK_HELP)
    async def new(interaction: discord.Interaction, link: str = "") -> None:
        await answer(interaction, "new", link=link)

    @group.command(name="stop", description="Stop the running reply")
    @app_commands.describe(link=LINK_HELP)
    async def stop(interaction: discord.Interaction, link: str = "") -> None:
        await answer(interaction, "stop", link=link)

    @group.command(name="forget", description="Delete this thread's conversation and data")
    @app_commands.describe(confirm="Yes, delete it", link=LINK_HELP)
    async def forget(
        interaction: discord.Interaction, confirm: bool = False, link: str = ""
    ) -> None:
        await answer(interaction, "forget", "confirm" if confirm else "", link=link)

    @group.command(name="status", description="Provider, conversation, messages, busy policy")
    @app_commands.describe(link=LINK_HELP)
    async def status(interaction: discord.Interaction, link: str = "") -> None:
        await answer(interaction, "status", link=link)

    @group.command(name="config", description="This channel's settings (admins only)")
    @app_commands.describe(name="Setting to change", value="New value (- clears it)")
    async def config(interaction: discord.Interaction, name: str = "", value: str = "") -> None:
        await answer(interaction, "config", name, *value.split())

    return group


async def install(
    client: discord.Client, hub: Core, answers: Answers
) -> app_commands.CommandTree[discord.Client]:
    """Attach the command tree to `client` and register the commands with Discord if changed."""
    tree: app_commands.CommandTree[discord.Client] = app_commands.CommandTree(client)
    tree.add_command(command_group(hub, answers))
    await sync_if_changed(tree, hub)
    return tree


def definition_hash(tree: app_commands.CommandTree[discord.Client]) -> str:
    """A digest of the global commands exactly as `tree.sync` would send them."""
    payload = [command.to_dict(tree) for command in tree.get_commands()]
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


async def sync_if_changed(tree: app_commands.CommandTree[discord.Client], hub: Core) -> None:
    """Sync unless the stored hash matches; claim the new hash first (SET … GET, atomic) so
    replicas starting together sync once, and drop the claim if the sync fails so the next
    start tries again. Redis trouble only costs a sync."""
    application = str(tree.client.application_id)
    digest = definition_hash(tree)
    try:
        previous = await hub.state.getset(application, COMMANDS, digest, ttl=COMMANDS_TTL)
    except RedisError as exc:
        log.warning("Discord: could not read the registered commands' hash (%s); syncing", exc)
        previous = None
    if previous == digest:
        log.info("Discord: /%s is registered as defined; not synced", NAME)
        return
    try:
        await tree.sync()
    except Exception as exc:
        with contextlib.suppress(RedisError):
            await hub.state.delete(application, COMMANDS)
        if not isinstance(exc, discord.HTTPException):
            raise
        log.warning("Discord: could not register /%s (%s); thread commands still work", NAME, exc)
