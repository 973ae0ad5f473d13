"""Settings from the environment and `.env`, read once at start-up.

A bad or missing setting becomes a `ConfigError` whose message is one line naming the variable.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Literal

from pydantic import Field, PrivateAttr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from bridge.contracts.settings import ConfigError, require, secret
from bridge.contracts.settings import load_settings as load_plugin_settings

__all__ = ["BUSY_POLICIES", "BusyPolicy", "ConfigError", "Settings", "load_settings", "secret"]


class BusyPolicy(StrEnum):
    """What a post does to its thread's running reply (BRIDGE_BUSY_POLICY, a channel's
    `busy_policy`); the value is what is stored and shown."""

    QUEUE = "queue"
    """Answered after it, in order."""
    INTERRUPT = "interrupt"
    """Stops it; the new post is answered next."""
    MERGE = "merge"
    """Waits; the posts waiting together are answered in one reply."""


BUSY_POLICIES = tuple(BusyPolicy)


class Settings(BaseSettings):
    """Every variable in `.env.example`; secrets are `SecretStr` and never logged."""

    model_config = SettingsConfigDict(
        env_file=".env", extra="ignore", case_sensitive=False, env_ignore_empty=True
    )

    redis_url: str | None = None
    bridge_redis_prefix: str = "bridge:"
    redis_max_connections: int = Field(default=1024, ge=8)
    bridge_max_loop_lag_seconds: float = Field(default=1.0, ge=0)
    bridge_max_gateway_lag_seconds: float = Field(default=3.0, ge=0)
    bridge_data_dir: str = ".data"
    bridge_provider: str | None = None
    bridge_http_port: int = Field(default=3000, ge=0, le=65535)
    bridge_busy_policy: BusyPolicy = BusyPolicy.QUEUE
    bridge_lease_seconds: float = Field(default=30.0, gt=1)
    bridge_inbox_shards: int = Field(default=4, ge=1, le=64)
    bridge_shutdown_seconds: float = Field(default=20.0, ge=0)
    bridge_log_level: str = "INFO"

    # Operations: log format; /metrics, /healthz and /readyz use BRIDGE_HTTP_PORT.
    bridge_log_format: Literal["plain", "json"] = "plain"
    # Link previews under replies: off asks Slack and Discord to fetch none of the reply's links.
    bridge_link_previews: Literal["off", "on"] = "off"

    bridge_locale: str = Field(default="en", pattern="^(en|de)$")
    # A model's reasoning: off shows "Thinking…" while it streams; collapsed quotes it once.
    bridge_show_reasoning: Literal["off", "collapsed"] = "off"

    # Reliability: retries, dead letters, reply deadlines and caps
    bridge_max_attempts: int = Field(default=5, ge=1)
    bridge_retry_base_seconds: float = Field(default=1.0, gt=0)
    bridge_reply_timeout_seconds: float = Field(default=600.0, gt=0)
    bridge_idle_timeout_seconds: float = Field(default=120.0, gt=0)
    bridge_max_reply_chars: int = Field(default=40_000, ge=100)
    bridge_max_reply_tokens: int = Field(default=8192, ge=0)
    # The deployment's system prompt, for providers whose API takes one; a channel's wins.
    bridge_system_prompt: str = ""
    bridge_wait_budget_seconds: float = Field(default=60.0, ge=0)
    # Trust: who may use the bridge, what a post may be, how long thread data lives.
    bridge_allow_tenants: str = ""
    bridge_deny_tenants: str = ""
    bridge_allow_channels: str = ""
    bridge_deny_channels: str = ""
    bridge_allow_users: str = ""
    bridge_deny_users: str = ""
    bridge_admin_users: str = ""
    bridge_user_posts_per_minute: int = Field(default=0, ge=0)
    bridge_max_post_chars: int = Field(default=16000, gt=0)
    bridge_thread_ttl_days: float = Field(default=90.0, gt=0)
    bridge_consumer_idle_hours: float = Field(default=24.0, gt=0)
    # A late mention: the thread's earlier posts go with it (0 = none), fetched within a bound.
    bridge_context_posts: int = Field(default=50, ge=0)
    bridge_context_timeout_seconds: float = Field(default=1.5, gt=0, le=2.0)

    provider_connect_timeout: float = Field(default=10.0, gt=0)
    provider_read_timeout: float = Field(default=120.0, gt=0)
    provider_max_connections: int = Field(default=4096, ge=1)

    _plugin_values: dict[str, object] = PrivateAttr(default_factory=dict)

    def __init__(self, **values: Any) -> None:
        """Values named for a plugin's variables (`neuroflash_api_url=`, as tests and the demo
        pass them) are kept for that plugin's own settings class (`plugin_values`)."""
        super().__init__(**values)
        fields = type(self).model_fields
        self._plugin_values = {
            name.lower(): value
            for name, value in values.items()
            if not name.startswith("_") and name not in fields
        }

    @property
    def plugin_values(self) -> dict[str, object]:
        """The values given for plugins' settings, by variable name in lower case."""
        return self._plugin_values

    @field_validator("bridge_busy_policy", mode="before")
    @classmethod
    def _known_policy(cls, value: str) -> str:
        if value not in BUSY_POLICIES:
            raise ValueError(f"must be one of {', '.join(BUSY_POLICIES)}")
        return value

    @property
    def link_previews(self) -> bool:
        """BRIDGE_LINK_PREVIEWS=on: replies keep the platforms' link previews."""
        return self.bridge_link_previews == "on"

    @property
    def thread_ttl(self) -> int:
        """BRIDGE_THREAD_TTL_DAYS in whole seconds."""
        return max(1, int(self.bridge_thread_ttl_days * 24 * 3600))

    def require(self, *names: str) -> None:
        """Raise `ConfigError` naming the first of `names` that is unset or empty."""
        require(self, *names)


def load_settings(**overrides: object) -> Settings:
    """Read the environment once; a bad value is one line naming the variable."""
    return load_plugin_settings(Settings, **overrides)
