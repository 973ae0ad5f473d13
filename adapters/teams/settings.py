"""Microsoft Teams settings (`TEAMS_*`), the adapter's own, read by the core's loader.

The two URLs exist for sovereign clouds and for the emulator. The token URL's default names the
bot's tenant: new multi-tenant bot registrations ended in 2025, so a bot is single-tenant and
asks its own tenant's token endpoint (Bot Connector authentication, "Bot to Connector").
"""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings

from bridge.contracts import ConfigError, plugin_config, require, secret

OPENID_METADATA_URL = "https://login.botframework.com/v1/.well-known/openidconfiguration"
TOKEN_URL = "https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token"


class TeamsSettings(BaseSettings):
    """Every `TEAMS_*` variable in `.env.example`."""

    model_config = plugin_config("TEAMS_")

    app_id: str = ""
    app_password: SecretStr | None = None
    tenant_id: str = ""
    openid_metadata_url: str = OPENID_METADATA_URL
    token_url: str = ""
    # The per-app limit Teams documents (requests per second, all conversations together).
    requests_per_second: float = Field(default=50.0, gt=0)
    # Personal chats: Teams' streaming protocol (on) or post + edit (off).
    streaming: bool = True
    # The bot's messaging endpoint as registered in Azure: `threadbridge doctor` checks it.
    messaging_endpoint: str = ""

    @property
    def token_endpoint(self) -> str:
        """TEAMS_TOKEN_URL, else the tenant's Entra ID token endpoint."""
        return self.token_url or TOKEN_URL.format(tenant=self.tenant_id)

    @property
    def password(self) -> str:
        return secret(self.app_password)

    def check(self) -> None:
        """Raise `ConfigError` naming the first required variable that is missing."""
        require(self, "app_id", "app_password")
        if not self.tenant_id and not self.token_url:
            raise ConfigError("TEAMS_TENANT_ID is not set (needed with TEAMS_APP_ID)")
