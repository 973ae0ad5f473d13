"""Any OpenAI-compatible chat server (Ollama, vLLM, llama.cpp, Azure OpenAI); the entry point
names `OpenAICompatProvider`."""

from providers.openai_compat.provider import OpenAICompatProvider
from providers.openai_compat.settings import OpenAISettings

__all__ = ["OpenAICompatProvider", "OpenAISettings"]
