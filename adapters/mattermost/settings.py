"""The Mattermost adapter's settings: `MATTERMOST_*` variables."""

from __future__ import annotations

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings

from bridge.contracts import plugin_config, secret


class MattermostSettings(BaseSettings):
    """MATTERMOST_TOKEN turns the adapter on and MATTERMOST_URL must then be set too; the
    rest tune it. The token is a `SecretStr`, never logged."""

    model_config = plugin_config("MATTERMOST_")

    url: str | None = None
    token: SecretStr | None = None
    # The server's API rate limiter (System Console → Rate Limiting): per token, shared by
    # every replica. The defaults are the server's own; the burst is also read from the
    # X-Ratelimit-Limit header once the server sends it.
    requests_per_second: float = Field(default=10.0, gt=0)
    burst: int = Field(default=100, ge=1)

    @field_validator("url")
    @classmethod
    def _http(cls, value: str | None) -> str | None:
        if value and not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value

    @property
    def base_url(self) -> str:
        return (self.url or "").rstrip("/")

    @property
    def secret(self) -> str:
        return secret(self.token)
