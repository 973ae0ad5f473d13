"""The neuroflash side of the benchmark: the emulator, timed, and the replies it streams.

`TimedNeuroflash` is the plain emulator plus a clock on each generation: when the LLM "starts"
(the first delta leaves right after) and when the stream's final payload has been written.
Every user post carries a `bench-NNNN` marker, so a stream is matched to its thread whatever
the client did to the text (mention stripped, whitespace trimmed).
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass

from aiohttp import web

from emulators.neuroflash import NeuroflashEmulator
from emulators.neuroflash.state import split_tokens

MARKER = re.compile(r"bench-(\d{4})")
CLIENT_ID, CLIENT_SECRET, WORKSPACE = "bench-client", "bench-secret", "ws-bench"

_TEXT = (
    "streaming replies grow in place while tokens arrive from the provider, and the bridge "
    "paces its edits so that every thread stays inside the messenger's budget. naïve café "
    "größe — déjà vu 👩‍💻 works, 🏳️‍🌈 waves, ✅ done."
)
_WORDS = _TEXT.split(" ")


def marker(index: int) -> str:
    return f"bench-{index:04d}"


def question(index: int) -> str:
    """The user's post for thread `index` (the platform adds the mention)."""
    return f"{marker(index)}: please explain how streaming works, at some length."


def reply_text(index: int, tokens: int) -> str:
    """A deterministic answer of about `tokens` stream deltas, with a code fence in the middle,
    multi-byte characters and ZWJ emoji (so a lost or doubled delta shows)."""
    parts: list[str] = [f"Answer {index}. "]
    count = 0
    fenced = False
    word = index
    while count < tokens:
        if not fenced and count >= tokens // 2:
            parts.append(f"\n\n```python\nprint({index})  # {'ok'}\n```\n\n")
            fenced = True
        parts.append(_WORDS[word % len(_WORDS)] + " ")
        word += 1
        count = len(split_tokens("".join(parts)))
    return "".join(parts).rstrip() + " ✓"


@dataclass
class Generation:
    """One LLM run as the provider saw it (wall-clock seconds, `time.time()`); `asked_at`:
    its request arrived (the provider's own first-token time is `first_token_at` − that)."""

    text: str
    tokens: int
    first_token_at: float
    done_at: float | None = None
    asked_at: float | None = None


class TimedNeuroflash(NeuroflashEmulator):
    """The neuroflash emulator, answering each thread with `reply_text` and timing the stream."""

    def __init__(self, tokens: int, tokens_per_second: float) -> None:
        super().__init__(CLIENT_ID, CLIENT_SECRET, WORKSPACE, tokens_per_second=tokens_per_second)
        self.reply_tokens = tokens
        self.generations: dict[int, Generation] = {}
        self._asked: dict[int, float] = {}

    def generate(self, user_text: str) -> str:
        """Called once per real LLM run, just before the first delta is written."""
        self.llm_runs += 1
        index = _index(user_text)
        text = reply_text(index, self.reply_tokens)
        now = time.time()
        asked = self._asked.pop(index, now)
        self.generations[index] = Generation(text, len(split_tokens(text)), now, asked_at=asked)
        return text

    async def _stream(self, request: web.Request) -> web.StreamResponse:
        """The emulator's stream handler; on return the final payload has been written."""
        body = await request.json()
        self._asked[_index(str(body.get("text", "")))] = time.time()
        response = await super()._stream(request)
        generation = self.generations.get(_index(str(body.get("text", ""))))
        if generation is not None and response.status == 200:
            generation.done_at = time.time()
        return response

    @property
    def live_streams(self) -> int:
        return sum(1 for c in self.conversations.values() if c.stream is not None)

    def env(self) -> dict[str, str]:
        """What a bridge (or the floor) needs to reach this emulator."""
        return {
            "NEUROFLASH_CLIENT_ID": CLIENT_ID,
            "NEUROFLASH_CLIENT_SECRET": CLIENT_SECRET,
            "NEUROFLASH_WORKSPACE_ID": WORKSPACE,
            "NEUROFLASH_API_URL": f"{self.url}/api",
            "NEUROFLASH_TOKEN_URL": f"{self.url}/oauth/v2/token",
        }


def _index(text: str) -> int:
    found = MARKER.search(text)
    return int(found.group(1)) if found else -1
