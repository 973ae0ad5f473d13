"""The neuroflash v1 provider (seed 002); the entry point names `NeuroflashProvider` here."""

from bridge.providers.neuroflash.events import parse_event, reply_after
from bridge.providers.neuroflash.policy import NeuroflashError
from bridge.providers.neuroflash.provider import NeuroflashProvider

__all__ = ["NeuroflashError", "NeuroflashProvider", "parse_event", "reply_after"]
