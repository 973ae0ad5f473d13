"""A Discord stand-in (REST /api/v10 and gateway) that an unmodified discord.py 2.x talks to."""

from .emulator import DiscordEmulator
from .state import Channel, ChannelType, Guild, Message, User

__all__ = ["Channel", "ChannelType", "DiscordEmulator", "Guild", "Message", "User"]
