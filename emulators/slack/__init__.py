"""A local Slack: Web API, Socket Mode and signed HTTP events for the real slack_sdk/slack_bolt."""

from emulators.slack.emulator import Delivery, SlackEmulator
from emulators.slack.socket_mode import Ack
from emulators.slack.state import Message

__all__ = ["Ack", "Delivery", "Message", "SlackEmulator"]
