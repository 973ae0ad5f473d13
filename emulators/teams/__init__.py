"""Microsoft Teams emulator: Bot Connector REST, Entra ID tokens, OpenID keys, the Teams client."""

from emulators.teams.emulator import CHANNEL, GROUP, TeamsEmulator

__all__ = ["CHANNEL", "GROUP", "TeamsEmulator"]
