"""Confirming a thread command on Discord: a reaction on the user's post."""

from __future__ import annotations

import logging

import discord

from bridge.commands import Command
from bridge.ingest import Confirm

log = logging.getLogger(__name__)

CONFIRM = {"stop": "⏹️", "reset": "♻️"}
DONE, REFUSED = "✅", "❌"


def confirm_with_reaction(message: discord.Message) -> Confirm:
    async def confirm(command: Command, ok: bool) -> None:
        try:
            await message.add_reaction(CONFIRM.get(command.name, DONE) if ok else REFUSED)
        except discord.HTTPException as exc:
            log.info("could not confirm %s with a reaction: %s", command, exc)

    return confirm
