"""LLM providers, one folder each, found through the `threadbridge.providers` entry points.

Each imports from the core only `bridge.contracts` (and its toolkit, what providers share:
SSE, the HTTP client, tokens, capped waits, failure wording), declares its settings class with
its own env prefix, and is built with those settings and a `ProviderContext`.
"""
