"""neuroflash: the v1 conversation API (seed 002, `NeuroflashProvider`) and the prototype
conversations API (seeds 000/001, `NeuroflashPrototypeProvider`), one account's two APIs: they
share the NEUROFLASH_* settings and the workspace lookup."""

from providers.neuroflash.events import parse_event, reply_after
from providers.neuroflash.policy import NeuroflashError
from providers.neuroflash.prototype import NeuroflashPrototypeProvider
from providers.neuroflash.provider import NeuroflashProvider
from providers.neuroflash.settings import NeuroflashSettings

__all__ = [
    "NeuroflashError",
    "NeuroflashPrototypeProvider",
    "NeuroflashProvider",
    "NeuroflashSettings",
    "parse_event",
    "reply_after",
]
