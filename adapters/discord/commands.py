"""Answering outside a reply on Discord: a reaction confirms a command, a short reply to the
post refuses or hints (never pinging anyone)."""

from __future__ import annotations

import logging

import discord

from adapters.discord.access import is_discord_admin
from bridge.contracts import Command, Confirm, Replies, Say

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


def reply_to(message: discord.Message) -> Say:
    async def say(text: str) -> None:
        try:
            await message.reply(text, allowed_mentions=discord.AllowedMentions.none())
        except discord.HTTPException as exc:
            log.info("could not post a notice: %s", exc)

    return say


def discord_replies(message: discord.Message) -> Replies:
    async def is_admin() -> bool:
        return is_discord_admin(message.author, message.channel)

    return Replies(confirm_with_reaction(message), reply_to(message), is_admin)
