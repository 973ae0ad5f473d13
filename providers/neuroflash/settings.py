"""NEUROFLASH_* settings, read by both neuroflash APIs (v1 and the prototype): one account."""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings

from bridge.contracts.settings import plugin_config


class NeuroflashSettings(BaseSettings):
    """The OAuth client, the workspace, the URLs and the default steering of new conversations."""

    model_config = plugin_config("NEUROFLASH_")

    client_id: str | None = None
    client_secret: SecretStr | None = None
    workspace_id: str | None = None
    api_url: str = "https://app.neuroflash.com/api"
    token_url: str = "https://id.neuroflash.com/oauth/v2/token"
    personality: str | None = None
    personality_id: int | None = None
    brand_voice_id: str | None = None
    target_audience_id: str | None = None
    model_name: str | None = None
    context_size: int | None = Field(default=None, gt=0)
