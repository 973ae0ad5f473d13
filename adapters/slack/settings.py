"""The Slack adapter's settings: `SLACK_*` variables (and the deployment's encryption key, which
keeps the workspaces' tokens at rest)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings

from bridge.contracts import plugin_config

DEFAULT_SCOPES = (
    "app_mentions:read,assistant:write,channels:history,groups:history,im:history,mpim:history,"
    "chat:write,files:read,reactions:read,reactions:write,users:read,commands,"
    "channels:read,groups:read,im:read,mpim:read"
)


class SlackSettings(BaseSettings):
    """Every `SLACK_*` variable in `.env.example`; secrets are `SecretStr` and never logged."""

    model_config = plugin_config("SLACK_")

    bot_token: SecretStr | None = None
    app_token: SecretStr | None = None
    signing_secret: SecretStr | None = None
    api_url: str = "https://slack.com/api/"
    edits_per_minute: float = Field(default=50.0, gt=0)
    # Replies: native streaming or post + chat.update, and each method's limit
    reply_mode: Literal["stream", "edit"] = "stream"
    stream_starts_per_minute: float = Field(default=20.0, gt=0)
    stream_appends_per_minute: float = Field(default=100.0, gt=0)
    stream_stops_per_minute: float = Field(default=20.0, gt=0)
    posts_per_channel_per_minute: float = Field(default=60.0, gt=0)
    # AI-app threads (Agents & AI Apps): the prompts a new one offers, "Title => message"
    # separated by "|" (unset: the bot's own in the user's language; "none": no prompts)
    suggested_prompts: str | None = None
    # A late mention's thread history (conversations.replies); unset: by distribution mode
    history_page_size: int | None = Field(default=None, ge=1, le=1000)
    history_calls_per_minute: float | None = Field(default=None, gt=0)

    # Distribution (many workspaces) and commands
    client_id: str | None = None
    client_secret: SecretStr | None = None
    state_secret: SecretStr | None = None
    oauth_authorize_url: str = "https://slack.com/oauth/v2/authorize"
    redirect_uri: str | None = None
    scopes: str = DEFAULT_SCOPES
    encryption_key: SecretStr | None = Field(default=None, validation_alias="BRIDGE_ENCRYPTION_KEY")
    """The deployment's BRIDGE_ENCRYPTION_KEY: installations' tokens are stored encrypted."""
