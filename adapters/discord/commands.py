"""Carrying out a thread command on Discord, confirmed with a reaction on the user's post."""

from __future__ import annotations

import logging

import discord

from bridge.commands import Command, run_command
from bridge.hub import Hub
from bridge.models import UserPost

log = logging.getLogger(__name__)

CONFIRM = {"stop": "⏹️", "reset": "♻️"}
DONE, REFUSED = "✅", "❌"


async def carry_out(hub: Hub, message: discord.Message, post: UserPost, command: Command) -> None:
    ok = await run_command(hub, post.thread, command)
    try:
        await message.add_reaction(CONFIRM.get(command.name, DONE) if ok else REFUSED)
    except discord.HTTPException as exc:
        log.info("could not confirm %s with a reaction: %s", command, exc)
