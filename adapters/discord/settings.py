"""The Discord adapter's settings: `DISCORD_*` variables."""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings

from bridge.contracts import plugin_config


class DiscordSettings(BaseSettings):
    """Every `DISCORD_*` variable in `.env.example`; the token is a `SecretStr`, never logged."""

    model_config = plugin_config("DISCORD_")

    token: SecretStr | None = None
    api_url: str = "https://discord.com/api/v10"
    gateway_url: str = "wss://gateway.discord.gg/"
    # Budgets: the bot's global request limit, shared by every replica
    requests_per_second: float = Field(default=50.0, gt=0)
