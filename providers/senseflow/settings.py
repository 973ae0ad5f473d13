"""SENSEFLOW_* settings."""

from __future__ import annotations

from pydantic import SecretStr
from pydantic_settings import BaseSettings

from bridge.contracts.settings import plugin_config


class SenseflowSettings(BaseSettings):
    """The app key, the agent (sent as `model`) and the API's URL."""

    model_config = plugin_config("SENSEFLOW_")

    api_key: SecretStr | None = None
    agent: str = ""
    api_url: str = "https://platform.llmprovider.ai/v1"
