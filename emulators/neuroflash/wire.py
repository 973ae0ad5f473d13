"""How a neuroflash stream looks on the wire, in the variants the emulator serves.

The seed only says each event carries "a partial delta, the final message payload, or an
error", so the emulator serves several plausible shapes and the client must read them all:

- "event-field": `event: delta` + `{"delta": …}`, `event: message` + final payload, LF endings.
- "type-key": no event field, `{"type": "delta", "text": …}`, comment pings, CRLF endings.
- "content-key": `{"event": "delta", "content": …}`, empty data events, an unknown event type,
  a final payload spread over two data lines, and a trailing `[DONE]`.
- "shape-only": no event field and no type key, so only the shape tells: deltas
  `{"id": …, "text": …}` (naming the message they grow), the final payload wrapped as
  `{"message": {…}}`, errors as `{"error": {"message": …, "code": …}}`.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass
from typing import Any

VARIANTS = ("event-field", "type-key", "content-key", "shape-only")


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


@dataclass(frozen=True)
class Wire:
    """Encodes events for one variant; every method returns the text to write, endings included."""

    variant: str = "event-field"

    @property
    def eol(self) -> str:
        return "\r\n" if self.variant == "type-key" else "\n"

    @property
    def content_type(self) -> str:
        return {
            "event-field": "text/event-stream; charset=utf-8",
            "type-key": "text/event-stream",
        }.get(self.variant, "text/event-stream;charset=UTF-8")

    def _event(self, name: str | None, *data_lines: str) -> str:
        lines = [f"event: {name}"] if name else []
        lines += [f"data: {line}" for line in data_lines]
        return self.eol.join(lines) + self.eol * 2

    def _typed(self, kind: str, body: dict[str, Any]) -> str:
        if self.variant == "event-field":
            return self._event(kind, _dumps(body))
        key = "type" if self.variant == "type-key" else "event"
        return self._event(None, _dumps({key: kind, **body}))

    def opening(self) -> str:
        """What precedes the first delta: a comment, and an empty data event in content-key."""
        text = f": stream open{self.eol}{self.eol}"
        if self.variant == "content-key":
            text += f"data:{self.eol}{self.eol}"
        return text

    def delta(self, text: str) -> str:
        if self.variant == "shape-only":
            return self._event(None, _dumps({"id": "reply", "text": text}))
        key = {"event-field": "delta", "type-key": "text"}.get(self.variant, "content")
        return self._typed("delta", {key: text})

    def between(self, index: int) -> str:
        """Noise between deltas: a comment ping every fifth delta (type-key, content-key)."""
        if self.variant != "event-field" and index % 5 == 4:
            return f": ping{self.eol}"
        return ""

    def final(self, payload: dict[str, Any]) -> str:
        if self.variant == "shape-only":
            return self._event(None, _dumps({"message": payload}))
        if self.variant != "content-key":
            return self._typed("message", payload)
        usage = self._event(None, _dumps({"event": "usage", "outputTokens": len(payload["text"])}))
        body = _dumps({"event": "message", **payload})
        cut = body.index(',"text"') + 1
        done = self._event(None, "[DONE]")
        return usage + self._event(None, body[:cut], body[cut:]) + done

    def error(self, message: str, code: str) -> str:
        if self.variant == "shape-only":
            return self._event(None, _dumps({"error": {"message": message, "code": code}}))
        key = "error" if self.variant == "content-key" else "message"
        return self._typed("error", {key: message, "code": code})

    def malformed(self) -> str:
        """One event whose data is not valid JSON (a truncated object)."""
        return self._event("delta" if self.variant == "event-field" else None, '{"delta": "ha')


def pieces(text: str) -> list[bytes]:
    """The bytes of `text` in separate writes: cut right after a CR of a CRLF, and inside the
    first multi-byte UTF-8 character, so the client's decoders must carry state across reads."""
    raw = text.encode("utf-8")
    cuts = set()
    crlf = raw.find(b"\r\n")
    if crlf >= 0:
        cuts.add(crlf + 1)
    lead = next((i for i, byte in enumerate(raw) if byte >= 0xC0), -1)
    if lead >= 0:
        cuts.add(lead + 1)
    bounds = [0, *sorted(cuts), len(raw)]
    return [raw[a:b] for a, b in itertools.pairwise(bounds) if b > a]
