"""SenseFlow (seed 004), a Dify-compatible agent API; the entry point names
`SenseflowProvider`."""

from providers.senseflow.provider import SenseflowProvider
from providers.senseflow.settings import SenseflowSettings

__all__ = ["SenseflowProvider", "SenseflowSettings"]
