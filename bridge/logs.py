"""How the process logs: plain lines for a terminal or one JSON object per line for machines,
with the ids of the reply a line is about, and never a secret.

Every line passes through one redactor: the values of the configured secrets, passwords and
tokens inside URLs, and credential-looking query parameters are masked, in the message and in
exception text alike. Library loggers that print request bodies or URLs are held at WARNING:
the core's own libraries' and those each messenger adapter names (`Quiets`) for its SDK.
"""

from __future__ import annotations

import functools
import json
import logging
import re
import sys
from collections.abc import Callable, Coroutine, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import IO, Any, Concatenate, ParamSpec, TypeVar

from pydantic import SecretStr

from bridge.contracts import UserPost

S = TypeVar("S")
P = ParamSpec("P")
R = TypeVar("R")

PLAIN_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
MASK = "***"
MIN_SECRET = 4
"""Shorter values are not masked on their own: they would mask ordinary words."""
QUIET = (
    "httpx",
    "httpcore",
    "aiohttp.access",
    "aiohttp.client",
    "websockets",
    "hpack",
)
"""Loggers that print request URLs (httpx at INFO), request bodies or connection payloads:
warnings and errors only."""
REPLY_FIELDS = ("platform", "tenant", "channel", "thread", "conversation", "reply")

_reply: ContextVar[dict[str, str] | None] = ContextVar("threadbridge_reply", default=None)
_quiet_names: set[str] = set(QUIET)
"""QUIET and the SDK loggers the running adapters named (`hush`)."""
_URL_USERINFO = re.compile(r"(?P<scheme>\b[a-zA-Z][a-zA-Z0-9+.-]*://)[^\s/@'\"<>]+@")
_QUERY_SECRET = re.compile(
    r"(?P<key>[?&;](?:access_token|token|api_key|apikey|key|client_secret|password|secret|"
    r"code)=)[^&\s'\"<>]+",
    re.IGNORECASE,
)


@contextmanager
def reply_scope(
    platform: str, tenant: str, channel: str, thread: str, reply: str
) -> Iterator[None]:
    """Every line logged inside (and in tasks started inside) carries these reply ids."""
    token = _reply.set(
        {
            "platform": platform,
            "tenant": tenant,
            "channel": channel,
            "thread": thread,
            "reply": reply,
        }
    )
    try:
        yield
    finally:
        _reply.reset(token)


def in_reply(
    method: Callable[Concatenate[S, UserPost, P], Coroutine[Any, Any, R]],
) -> Callable[Concatenate[S, UserPost, P], Coroutine[Any, Any, R]]:
    """Run `method(self, post, ...)` inside the reply scope of `post`."""

    @functools.wraps(method)
    async def wrapper(self: S, post: UserPost, /, *args: P.args, **kwargs: P.kwargs) -> R:
        t = post.thread
        with reply_scope(t.platform, t.tenant, t.channel, t.thread, post.message_id):
            return await method(self, post, *args, **kwargs)

    return wrapper


def note_conversation(conversation_id: str | None) -> None:
    """Add the conversation id once the reply knows it (lines from then on carry it)."""
    current = _reply.get()
    if current is not None and conversation_id:
        _reply.set({**current, "conversation": conversation_id})


def reply_fields() -> dict[str, str]:
    return dict(_reply.get() or {})


class Redactor:
    """Masks secrets in text: configured values, URL credentials, credential parameters."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        values = {s for s in secrets if s and len(s) >= MIN_SECRET}
        self._secrets = sorted(values, key=len, reverse=True)

    def __call__(self, text: str) -> str:
        text = _URL_USERINFO.sub(rf"\g<scheme>{MASK}@", text)
        text = _QUERY_SECRET.sub(rf"\g<key>{MASK}", text)
        for value in self._secrets:
            if value in text:
                text = text.replace(value, MASK)
        return text


class _ReplyFilter(logging.Filter):
    """Copies the current reply's ids onto each record (as `record.reply_ids`), and drops
    the quiet libraries' lines below WARNING even where a library set its own logger's level
    (slack-bolt gives each app a logger at the root's level)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING and _quiet(record.name):
            return False
        record.reply_ids = reply_fields()
        return True


def _quiet(name: str) -> bool:
    return any(name == q or name.startswith(q + ".") for q in _quiet_names)


def hush(names: Iterable[str]) -> None:
    """Hold these loggers (a plugin's SDK's) at WARNING too, from now on."""
    for name in names:
        _quiet_names.add(name)
        logging.getLogger(name).setLevel(logging.WARNING)


class PlainFormatter(logging.Formatter):
    def __init__(self, redact: Redactor) -> None:
        super().__init__(PLAIN_FORMAT)
        self._redact = redact

    def format(self, record: logging.LogRecord) -> str:
        return self._redact(super().format(record))


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, the reply ids, the exception."""

    def __init__(self, redact: Redactor) -> None:
        super().__init__()
        self._redact = redact

    def format(self, record: logging.LogRecord) -> str:
        stamp = datetime.fromtimestamp(record.created, UTC)
        data: dict[str, Any] = {
            "time": stamp.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": self._redact(record.getMessage()),
        }
        ids: dict[str, str] = getattr(record, "reply_ids", None) or {}
        data.update({k: self._redact(v) for k, v in ids.items()})
        if record.exc_info:
            data["exc"] = self._redact(self.formatException(record.exc_info))
        elif record.exc_text:
            data["exc"] = self._redact(record.exc_text)
        if record.stack_info:
            data["stack"] = self._redact(self.formatStack(record.stack_info))
        return json.dumps(data, ensure_ascii=False)


def secrets_of(*settings: object) -> list[str]:
    """Every secret value in `settings` (SecretStr fields: the core's and each plugin's) and
    every URL's password."""
    found: list[str] = []
    for value in (v for part in settings for v in vars(part).values()):
        if isinstance(value, SecretStr):
            found.append(value.get_secret_value())
        elif isinstance(value, str) and "://" in value and "@" in value:
            userinfo = value.split("://", 1)[1].split("/", 1)[0].rpartition("@")[0]
            user, colon, password = userinfo.partition(":")
            found.append(password if colon else user)
    return found


def configure(
    level: str = "INFO",
    fmt: str = "plain",
    secrets: Iterable[str] = (),
    stream: IO[str] | None = None,
) -> logging.Handler:
    """Make the root logger write to `stream` (stderr) in `fmt`; return the handler."""
    redact = Redactor(secrets)
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter(redact) if fmt == "json" else PlainFormatter(redact))
    handler.addFilter(_ReplyFilter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    known = level.upper() in logging.getLevelNamesMapping()
    root.setLevel(level.upper() if known else logging.INFO)
    for name in _quiet_names:
        logging.getLogger(name).setLevel(logging.WARNING)
    return handler
