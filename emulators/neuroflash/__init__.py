"""A local neuroflash v1 API (seed 002) with its OAuth token endpoint, for tests and the demo."""

from emulators.neuroflash.emulator import NeuroflashEmulator
from emulators.neuroflash.state import Conversation, Message
from emulators.neuroflash.wire import VARIANTS

__all__ = ["VARIANTS", "Conversation", "Message", "NeuroflashEmulator"]
