"""Microsoft Teams settings (`TEAMS_*`), the adapter's own: read once from the environment and
`.env`; a bad value is one line naming the variable.

The two URLs exist for sovereign clouds and for the emulator. The token URL's default names the
bot's tenant: new multi-tenant bot registrations ended in 2025, so a bot is single-tenant and
asks its own tenant's token endpoint (Bot Connector authentication, "Bot to Connector").
"""

from __future__ import annotations

from pydantic import Field, SecretStr, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from bridge.config import ConfigError

OPENID_METADATA_URL = "https://login.botframework.com/v1/.well-known/openidconfiguration"
TOKEN_URL = "https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token"


class TeamsSettings(BaseSettings):
    """Every `TEAMS_*` variable in `.env.example`."""

    model_config = SettingsConfigDict(
        env_prefix="TEAMS_",
        env_file=".env",
        extra="ignore",
        case_sensitive=False,
        env_ignore_empty=True,
    )

    app_id: str = ""
    app_password: SecretStr | None = None
    tenant_id: str = ""
    openid_metadata_url: str = OPENID_METADATA_URL
    token_url: str = ""
    # The per-app limit Teams documents (requests per second, all conversations together).
    requests_per_second: float = Field(default=50.0, gt=0)
    # Personal chats: Teams' streaming protocol (on) or post + edit (off).
    streaming: bool = True

    @property
    def token_endpoint(self) -> str:
        """TEAMS_TOKEN_URL, else the tenant's Entra ID token endpoint."""
        return self.token_url or TOKEN_URL.format(tenant=self.tenant_id)

    @property
    def password(self) -> str:
        return self.app_password.get_secret_value() if self.app_password else ""

    def check(self) -> None:
        """Raise `ConfigError` naming the first required variable that is missing."""
        for name, value in (
            ("TEAMS_APP_PASSWORD", self.password),
            ("TEAMS_TENANT_ID", self.tenant_id or self.token_url),
        ):
            if not value:
                raise ConfigError(f"{name} is not set (needed with TEAMS_APP_ID)")


def load_teams_settings(**overrides: object) -> TeamsSettings:
    """Read `TEAMS_*` once; pydantic's report becomes one line naming the variable."""
    try:
        return TeamsSettings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        err = exc.errors()[0]
        name = f"TEAMS_{err['loc'][0]}".upper() if err["loc"] else "TEAMS settings"
        raise ConfigError(f"{name} is invalid: {err['msg']}") from None
