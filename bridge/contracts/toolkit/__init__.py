"""What plugins share, in one place they may import (part of the contracts: it imports
nothing else of the core), so each provider folder holds only its own API's logic.

- `sse` — Server-Sent Events with the httpx-sse traps handled once: the status checked before
  iterating, `ProviderHTTPError` with the body read, `[DONE]` and empty data recognised,
  `JsonEvents` for a stream of JSON objects.
- `http` — `provider_client`: the pooled httpx client for one provider (small pools, least
  busy first, explicit timeouts from `ProviderOptions`, the wait for a connection reported).
- `auth` — `TokenCache` (one fetch for many callers, refreshed once when refused), the OAuth2
  client-credentials grant, requests and streams that retry once with a fresh token.
- `waits` — asked waits (Retry-After and the like) capped to 0–30 s and charged to the reply's
  wait budget; the core's turn and renderer use the same module.
- `replies` — `guarded` (a reply ends in one `ReplyFailed`, never an exception), the user's
  words for each kind of trouble, `retry_when_busy` for a 429 before any text.
- `settings` — `present` (a settings class's `configured`), the system-prompt warning.
- `text` — a thread's title from its first words, an id as one URL path segment.
- `reasoning` — `ThinkSplitter`: `<think>…</think>` in a streamed text set apart from the answer
  (tags cut across chunks, code kept literal); `keep_apart`, which the core's turn applies to
  every provider's events.

Also for adapters: `split` (a reply cut at clean boundaries, code fences closed and reopened,
interim text made valid to show), `commonmark` (where CommonMark puts code, so mention
neutralising leaves exactly that byte-exact), `encryption` (the Fernet keys of a setting that
lists them, newest first), `doctor` (a `threadbridge doctor` row that passed or failed with its
fix, and one for a host that cannot be reached), `arrival` (a messenger's request limits kept by
when a request can have arrived, hooked into the adapter's aiohttp session; `granted` marks a
write's requests).

Why here and not in each provider: these are the traps every streamed HTTP API sets (a 4xx
retried as a transport error, a `Retry-After: inf`, 50 token fetches at once); solving them
once keeps every provider's behaviour the same and its folder small.
"""
