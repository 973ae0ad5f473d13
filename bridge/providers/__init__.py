"""LLM providers: one module each, found through the `threadbridge.providers` entry points."""
