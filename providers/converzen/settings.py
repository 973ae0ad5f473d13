"""CONVERZEN_* settings."""

from __future__ import annotations

from pydantic import SecretStr
from pydantic_settings import BaseSettings

from bridge.contracts.settings import plugin_config


class ConverzenSettings(BaseSettings):
    """The API key, the persona its tokens select (an alias or `ID:VERSION`), the API's URL."""

    model_config = plugin_config("CONVERZEN_")

    api_key: SecretStr | None = None
    persona: str = ""
    api_url: str = "https://chat.converzen.de/api"
