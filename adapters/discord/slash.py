"""`/threadbridge <sub>` as a Discord application command, answered ephemerally (flag 64).

The command tree is synced (bulk overwrite, global) at start-up; the interaction's channel is
the thread the command was run in, and its `locale` chooses the language.
"""

from __future__ import annotations

import logging

import discord
from discord import app_commands

from adapters.discord.access import is_discord_admin
from adapters.discord.ingest import DM_TENANT
from bridge.contracts import Core, ThreadKey
from bridge.slash import Invocation, run_slash

log = logging.getLogger(__name__)

NAME = "threadbridge"


def place(interaction: discord.Interaction) -> tuple[str, ThreadKey | None]:
    """The channel scope and the thread (None outside one) the command was run in."""
    channel = interaction.channel
    channel_id = str(interaction.channel_id)
    if interaction.guild_id is None:
        return f"discord:{DM_TENANT}:{channel_id}", ThreadKey(
            "discord", DM_TENANT, channel_id, channel_id
        )
    guild = str(interaction.guild_id)
    if isinstance(channel, discord.Thread):
        thread = ThreadKey("discord", guild, str(channel.parent_id), channel_id)
        return thread.scope, thread
    return f"discord:{guild}:{channel_id}", None


def command_group(hub: Core) -> app_commands.Group:
    group = app_commands.Group(name=NAME, description="threadbridge: this thread's conversation")

    async def answer(interaction: discord.Interaction, *words: str) -> None:
        scope, thread = place(interaction)

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
        )
        text = await run_slash(hub, invocation)
        await interaction.response.send_message(
            text, ephemeral=True, allowed_mentions=discord.AllowedMentions.none()
        )

    @group.command(name="new", description="Start a fresh conversation in this thread")
    async def new(interaction: discord.Interaction) -> None:
        await answer(interaction, "new")

    @group.command(name="stop", description="Stop the running reply")
    async def stop(interaction: discord.Interaction) -> None:
        await answer(interaction, "stop")

    @group.command(name="forget", description="Delete this thread's conversation and data")
    @app_commands.describe(confirm="Yes, delete it")
    async def forget(interaction: discord.Interaction, confirm: bool = False) -> None:
        await answer(interaction, "forget", "confirm" if confirm else "")

    @group.command(name="status", description="Provider, conversation, messages, busy policy")
    async def status(interaction: discord.Interaction) -> None:
        await answer(interaction, "status")

    @group.command(name="config", description="This channel's settings (admins only)")
    @app_commands.describe(name="Setting to change", value="New value (- clears it)")
    async def config(interaction: discord.Interaction, name: str = "", value: str = "") -> None:
        await answer(interaction, "config", name, *value.split())

    return group


async def install(client: discord.Client, hub: Core) -> app_commands.CommandTree[discord.Client]:
    """Attach the command tree to `client` and register the commands with Discord."""
    tree: app_commands.CommandTree[discord.Client] = app_commands.CommandTree(client)
    tree.add_command(command_group(hub))
    try:
        await tree.sync()
    except discord.HTTPException as exc:
        log.warning("Discord: could not register /%s (%s); thread commands still work", NAME, exc)
    return tree
