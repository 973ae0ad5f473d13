"""Thumbs up/down under a Discord reply: two buttons on its last message.

The final write of the reply's last message carries one action row (component type 1) with two
secondary buttons (type 2, style 2) whose `custom_id` (at most 100 characters, Discord's
component reference) names the vote and the post the reply answers. A press arrives as
INTERACTION_CREATE (type 3, MESSAGE_COMPONENT) on whichever replica's gateway session Discord
picks; that replica hands it to the core and answers the presser alone: an interaction
response of type 4 (CHANNEL_MESSAGE_WITH_SOURCE) with the EPHEMERAL flag (64), within
Discord's 3 s (docs: interactions/receiving-and-responding).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

import discord

from adapters.discord.ingest import DM_TENANT, ThreadParents
from bridge.contracts import Core, ThreadKey
from bridge.contracts.feedback import Press, Vote, control_value, read_control

log = logging.getLogger(__name__)


def feedback_row(reply: str) -> list[dict[str, Any]]:
    """The action row with the feedback buttons for the reply to post `reply`."""

    def button(emoji: str, vote: Vote) -> dict[str, Any]:
        return {
            "type": 2,
            "style": 2,
            "emoji": {"name": emoji},
            "custom_id": control_value(vote, reply),
        }

    return [{"type": 1, "components": [button("👍", Vote.UP), button("👎", Vote.DOWN)]}]


def feedback_pressed(
    core: Core, parents: ThreadParents
) -> Callable[[discord.Interaction], Awaitable[None]]:
    """Hand a press of a feedback button to the core, then answer the presser alone."""

    async def on_press(interaction: discord.Interaction) -> None:
        data: Any = interaction.data or {}
        control = read_control(str(data.get("custom_id") or ""))
        if interaction.type is not discord.InteractionType.component or control is None:
            return
        if interaction.message is None:
            return
        press = await _press(interaction, parents, *control)
        answer = await core.feedback(press)
        try:
            await interaction.response.send_message(answer, ephemeral=True)
        except discord.HTTPException as exc:
            log.info("could not answer a feedback press on %s: %s", press.message_id, exc)

    return on_press


async def _press(
    interaction: discord.Interaction, parents: ThreadParents, vote: Vote, reply: str
) -> Press:
    """The press as the core reads it, with the thread its channel names: a thread under
    its parent, a channel where no thread could be opened (keyed by the post), or a DM."""
    assert interaction.message is not None
    guild, channel_id = interaction.guild_id, interaction.channel_id or 0
    tenant = str(guild) if guild is not None else DM_TENANT
    channel = await parents.channel_part(interaction.client, guild, channel_id)
    if guild is None:
        thread = ThreadKey("discord", tenant, str(channel_id), str(channel_id))
    elif channel != str(channel_id):
        thread = ThreadKey("discord", tenant, channel, str(channel_id))
    else:
        thread = ThreadKey("discord", tenant, channel, reply)
    locale = interaction.locale.value if interaction.locale else None
    user = str(interaction.user.id)
    message = str(interaction.message.id)
    return Press("discord", tenant, channel, message, reply, user, vote, thread, locale)
