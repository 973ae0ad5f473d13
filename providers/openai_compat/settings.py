"""OPENAI_* settings: any OpenAI-compatible server, Azure OpenAI included."""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings

from bridge.contracts.settings import plugin_config


class OpenAISettings(BaseSettings):
    """The server, its key and model, the history's token budget, and the API's style."""

    model_config = plugin_config("OPENAI_")

    base_url: str | None = None
    api_key: SecretStr | None = None
    model: str | None = None
    history_tokens: int = Field(default=8000, gt=0)
    api_style: str = Field(default="openai", pattern="^(openai|azure)$")
    azure_api_version: str | None = None
