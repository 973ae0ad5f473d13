"""A Mattermost server stand-in (REST API v4 and the WebSocket API) for tests and the bench."""

from .emulator import MattermostEmulator
from .state import Channel, Post, User

__all__ = ["Channel", "MattermostEmulator", "Post", "User"]
