"""Mattermost's own settings (prefix MATTERMOST_, from the environment and `.env`)."""

from __future__ import annotations

from pydantic import Field, SecretStr, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from bridge.config import ConfigError


class MattermostSettings(BaseSettings):
    """MATTERMOST_URL and MATTERMOST_TOKEN enable the adapter; the rest tune it."""

    model_config = SettingsConfigDict(
        env_prefix="MATTERMOST_",
        env_file=".env",
        extra="ignore",
        case_sensitive=False,
        env_ignore_empty=True,
    )

    url: str | None = None
    token: SecretStr | None = None
    # The server's API rate limiter (System Console → Rate Limiting): per token, shared by
    # every replica. The defaults are the server's own; the burst is also read from the
    # X-Ratelimit-Limit header once the server sends it.
    requests_per_second: float = Field(default=10.0, gt=0)
    burst: int = Field(default=100, ge=1)

    @property
    def configured(self) -> bool:
        return bool(self.url) and self.token is not None and bool(self.token.get_secret_value())

    @property
    def base_url(self) -> str:
        return (self.url or "").rstrip("/")

    @property
    def secret(self) -> str:
        return self.token.get_secret_value() if self.token is not None else ""


def load() -> MattermostSettings:
    """Read MATTERMOST_*; a bad value is one line naming the variable."""
    try:
        return MattermostSettings()
    except ValidationError as exc:
        err = exc.errors()[0]
        name = f"MATTERMOST_{err['loc'][0]}".upper() if err["loc"] else "MATTERMOST_*"
        raise ConfigError(f"{name} is invalid: {err['msg']}") from None


def require(settings: MattermostSettings) -> None:
    """Both variables set, and the URL an http(s) one."""
    if not settings.url:
        raise ConfigError("MATTERMOST_URL is not set")
    if not settings.secret:
        raise ConfigError("MATTERMOST_TOKEN is not set")
    if not settings.base_url.startswith(("http://", "https://")):
        raise ConfigError("MATTERMOST_URL is invalid: must start with http:// or https://")
