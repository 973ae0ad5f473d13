"""The stop control on a Discord reply: a button component under the text while it runs.

Interim writes carry one action row with a danger-style button (`custom_id` STOP_ID); the final
write sends an empty component list, so the button disappears when the reply ends. A press
arrives as INTERACTION_CREATE on whichever replica's gateway session Discord picks; that replica
acknowledges it (deferred update, within Discord's 3 s) and publishes the stop to the replica
streaming the reply.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

import discord

from adapters.discord.ingest import DM_TENANT, ThreadParents
from bridge.contracts import Core

log = logging.getLogger(__name__)

STOP_ID = "threadbridge:stop"
BUTTON_ROW: list[dict[str, Any]] = [
    {
        "type": 1,
        "components": [{"type": 2, "style": 4, "label": "Stop", "custom_id": STOP_ID}],
    }
]
"""An action row (type 1) with a button (type 2) of style 4 (danger)."""


def is_stop(interaction: discord.Interaction) -> bool:
    data: Any = interaction.data or {}
    return (
        interaction.type is discord.InteractionType.component and data.get("custom_id") == STOP_ID
    )


def stop_pressed(
    hub: Core, parents: ThreadParents
) -> Callable[[discord.Interaction], Awaitable[None]]:
    """Acknowledge a press of the stop button, then stop the reply it sits on."""

    async def on_press(interaction: discord.Interaction) -> None:
        if not is_stop(interaction) or interaction.message is None:
            return
        try:
            await interaction.response.defer()
        except discord.HTTPException as exc:
            log.info("could not acknowledge a stop press: %s", exc)
        guild = interaction.guild_id
        tenant = str(guild) if guild is not None else DM_TENANT
        channel = await parents.channel_part(interaction.client, guild, interaction.channel_id or 0)
        if not await hub.stop_by_reply("discord", tenant, channel, str(interaction.message.id)):
            log.info(
                "stop pressed on %s, which is no reply the bridge knows", interaction.message.id
            )

    return on_press
