"""converzen (seed 003): streamed chat sessions; the entry point names `ConverzenProvider`."""

from providers.converzen.provider import ConverzenProvider
from providers.converzen.settings import ConverzenSettings

__all__ = ["ConverzenProvider", "ConverzenSettings"]
