"""The provider test kit shared by the conformance suite and the per-provider tests.

A kit says how to start one provider's emulator, build its settings, script a reply, inject each
fault, read its auth counters, and which conformance cases its API cannot have (with the reason).
The fixtures built on it are declared in conftest.py; the helpers below post to a thread and read
a reply the way bridge/turn.py does.
"""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from typing import Any, ClassVar

import pytest

from bridge.config import Settings
from bridge.contracts import (
    Conversation,
    ConversationStarted,
    Provider,
    ReplyDone,
    ReplyEvent,
    ReplyFailed,
    TextDelta,
    ThreadKey,
    UserPost,
)
from bridge.registry import Providers
from bridge.store import Store
from emulators.base import Fault
from emulators.converzen import TEST_KEY, ConverzenEmulator
from emulators.neuroflash import VARIANTS, NeuroflashEmulator
from emulators.neuroflash_prototype import (
    CLIENT_ID,
    CLIENT_SECRET,
    WORKSPACE,
    NeuroflashPrototypeEmulator,
)
from emulators.openai_compat import OpenAIEmulator
from emulators.senseflow import AGENT, API_KEY, SenseflowEmulator
from providers.converzen import ConverzenProvider
from providers.neuroflash import NeuroflashPrototypeProvider, NeuroflashProvider
from providers.openai_compat import OpenAICompatProvider
from providers.senseflow import SenseflowProvider

CASES = ("http_4xx", "http_5xx", "http_429", "cut", "eof", "malformed", "unknown", "error_event")
DETAIL = "text too long for this model"
GAVE_UP = "The model gave up"
MYSTERY = '{"type":"mystery","event":"mystery","object":"mystery","note":"ignore me"}'
GAVE_UP_BODY = {"code": "model_gave_up", "message": GAVE_UP}


@dataclass(frozen=True)
class Expect:
    """What the user must read when a case fails: these words, and whether to retry; what only
    the log may read (`logged`: provider bodies and statuses never reach the thread)."""

    words: tuple[str, ...]
    retryable: bool | None
    logged: tuple[str, ...] = ()


FAILURES = {
    "http_4xx": Expect(("refused",), False, (DETAIL, "400")),
    "http_5xx": Expect(("trouble",), True, ("HTTP 503",)),
    "cut": Expect(("connection",), True),
    "eof": Expect(("stopped sending",), True),
    "malformed": Expect(("could not read",), True),
    "error_event": Expect((), None, (GAVE_UP,)),
    "connect_refused": Expect(("connection",), True),
    "connect_timeout": Expect(("in time",), True),
}


class Kit:
    """How tests drive one provider and its emulator; subclasses fill in the specifics."""

    name: ClassVar[str]
    provider_class: ClassVar[type]
    """The class the provider's entry point builds."""
    label: ClassVar[str]
    """How the provider names itself in failure messages."""
    route: ClassVar[str]
    """The emulator's fault route for the reply request."""
    error_body: ClassVar[dict[str, Any]]
    """The provider's JSON body for a 4xx that says why (DETAIL)."""
    held_in: ClassVar[str] = "conversations"
    """The emulator attribute holding conversations by id ("": the bridge keeps them)."""
    streams: ClassVar[bool] = True
    token_path: ClassVar[str] = ""
    no_token_auth: ClassVar[str] = ""
    """Why the API has no token to fetch and refresh ("" when it has one)."""
    no_delete: ClassVar[str] = ""
    """Why `forget` cannot remove the conversation at the provider ("" when it can)."""
    not_applicable: ClassVar[dict[str, str]] = {}
    recovers: ClassVar[frozenset[str]] = frozenset({"malformed", "unknown", "http_429"})
    """Cases after which the reply still arrives whole (a 429 is waited out and retried)."""
    """Fault cases whose documented outcome is the exact text rather than a ReplyFailed."""
    reply_path: ClassVar[str] = ""
    """The reply request's path: each POST to it is one attempt at a reply."""
    short_ttl: ClassVar[float] = 1.0
    full_speed: ClassVar[float] = 0.0
    """The emulator's token rate when a test does not pace it (0: no delay)."""

    def __init__(self, **settings: Any) -> None:
        """`settings`: what every provider built from this kit gets besides `values`."""
        self.extra = settings

    def emulator(self) -> Any:
        raise NotImplementedError

    def values(self, root: str) -> dict[str, Any]:
        """Settings that point the provider at a server at `root` (scheme, host and port)."""
        raise NotImplementedError

    def settings(self, root: str, **extra: Any) -> Settings:
        """The provider's settings at `root`, with this kit's and then the caller's overrides."""
        values = {"bridge_provider": self.name, **self.values(root), **self.extra, **extra}
        return Settings(_env_file=None, **values)  # type: ignore[call-arg]

    def script(self, emu: Any, *texts: str) -> None:
        """Answer the next replies with exactly `texts`."""
        emu.script(*texts)

    def fault(self, case: str) -> tuple[Fault, int] | None:
        """The fault for `case` and how many times to queue it; None when not a queued fault."""
        return {
            "http_4xx": (Fault("status", 400, body=self.error_body), 1),
            "http_5xx": (Fault("status", 503, body={"message": "overloaded"}), 1),
            "http_429": (Fault("status", 429, headers={"Retry-After": "0.2"}), 2),
            "cut": (Fault("disconnect", after=3), 1),
            "eof": (Fault("cut", after=3), 1),
            "malformed": (Fault("malformed", after=2), 1),
            "error_event": (Fault("error_event", after=3, body=GAVE_UP_BODY), 1),
        }.get(case)

    def inject(self, emu: Any, case: str) -> None:
        found = self.fault(case)
        if found is not None:
            fault, times = found
            emu.fail_next(self.route, fault, times=times)
        elif case == "unknown":
            self.add_unknown_events(emu)

    def slow(self, emu: Any, delay: float) -> None:
        emu.fail_next(self.route, Fault("slow", delay=delay))

    def add_unknown_events(self, emu: Any) -> None:
        """Every few tokens, an SSE event of a type no provider knows (ChatEmulator's ping)."""
        emu.ping = (emu.ping or "") + f"event: mystery\r\ndata: {MYSTERY}\r\n\r\n"

    def before_post(self, emu: Any, n: int) -> None:
        """Vary the wire between posts where the emulator has several shapes."""

    def pace(self, emu: Any, tokens_per_second: float) -> None:
        emu.style.tokens_per_second = tokens_per_second

    def conversations(self, emu: Any) -> set[str] | None:
        """The conversation ids the provider's server holds (None: the bridge keeps them)."""
        return set(getattr(emu, self.held_in)) if self.held_in else None

    async def held(self, emu: Any, provider: Provider, conversation: Conversation) -> int:
        """How many messages the conversation holds, wherever it lives."""
        return len(getattr(emu, self.held_in)[str(conversation.id)].messages)

    def token_fetches(self, emu: Any) -> int:
        return len(emu.calls_to(self.token_path))

    def reply_calls(self, emu: Any) -> int:
        return len(emu.calls_to(self.reply_path, "POST"))

    def revoke_tokens(self, emu: Any) -> None:
        emu.expire_tokens()

    def set_token_ttl(self, emu: Any, seconds: float) -> None:
        emu.token_ttl = seconds

    def stopped(self, emu: Any) -> bool:
        """Whether the emulator saw the stopped reply end early (closed or stopped)."""
        return bool(set(emu.outcomes) & {"aborted", "stopped"})


class NeuroflashKit(Kit):
    name = label = "neuroflash"
    provider_class = NeuroflashProvider
    route = "stream"
    error_body: ClassVar[dict[str, Any]] = {"code": "validationError", "message": DETAIL}
    token_path = "/oauth/v2/token"
    reply_path = "/message-streams"
    no_delete = "the neuroflash v1 API (seed 002) has no delete-conversation call"
    not_applicable: ClassVar[dict[str, str]] = {
        "eof": "the neuroflash emulator ends a stream early only by dropping the connection "
        "(the cut case); both end in the same history reconciliation",
    }
    recovers = frozenset({"cut", "malformed", "unknown", "http_429"})
    full_speed = 1000.0

    def emulator(self) -> NeuroflashEmulator:
        return NeuroflashEmulator(tokens_per_second=self.full_speed)

    def values(self, root: str) -> dict[str, Any]:
        return {
            "neuroflash_client_id": "nf-client",
            "neuroflash_client_secret": "nf-secret",
            "neuroflash_workspace_id": "ws-test",
            "neuroflash_api_url": f"{root}/api",
            "neuroflash_token_url": f"{root}/oauth/v2/token",
        }

    def fault(self, case: str) -> tuple[Fault, int] | None:
        if case == "http_5xx":
            return Fault("status", 503, body={"message": "overloaded"}), 4  # 1 try + 3 retries
        if case == "cut":
            return Fault("cut", after=4), 1
        return super().fault(case)

    def add_unknown_events(self, emu: NeuroflashEmulator) -> None:
        emu.variant = "content-key"  # a `usage` event, empty data events and `[DONE]`

    def before_post(self, emu: NeuroflashEmulator, n: int) -> None:
        emu.variant = VARIANTS[n % len(VARIANTS)]

    def pace(self, emu: NeuroflashEmulator, tokens_per_second: float) -> None:
        emu.tokens_per_second = tokens_per_second

    def revoke_tokens(self, emu: NeuroflashEmulator) -> None:
        emu.revoke_tokens()

    def stopped(self, emu: NeuroflashEmulator) -> bool:
        return bool(emu.calls_to(self.reply_path, "DELETE"))


class PrototypeKit(Kit):
    name, label = "neuroflash-prototype", "neuroflash"
    provider_class = NeuroflashPrototypeProvider
    route = "completion"
    error_body: ClassVar[dict[str, Any]] = {"detail": DETAIL}
    token_path = "/oauth/v2/token"
    reply_path = "/chat/completions"
    streams = False
    not_applicable: ClassVar[dict[str, str]] = {
        "eof": "the prototype API answers in one JSON body, so there is no end-of-stream event "
        "to miss (a truncated body is the cut case)",
        "unknown": "the prototype API has no event stream, so no event types",
    }
    recovers = frozenset({"http_429"})

    def emulator(self) -> NeuroflashPrototypeEmulator:
        return NeuroflashPrototypeEmulator()

    def values(self, root: str) -> dict[str, Any]:
        return {
            "neuroflash_client_id": CLIENT_ID,
            "neuroflash_client_secret": CLIENT_SECRET,
            "neuroflash_workspace_id": WORKSPACE,
            "neuroflash_api_url": f"{root}/api",
            "neuroflash_token_url": f"{root}/oauth/v2/token",
        }

    def fault(self, case: str) -> tuple[Fault, int] | None:
        if case == "cut":
            return Fault("cut"), 1  # half the JSON body, then the connection drops
        if case in ("malformed", "error_event"):
            return Fault(case, body=GAVE_UP_BODY), 1
        return super().fault(case)


class ConverzenKit(Kit):
    name = label = "converzen"
    provider_class = ConverzenProvider
    route = "stream"
    error_body: ClassVar[dict[str, Any]] = {"detail": DETAIL}
    held_in = "sessions"
    token_path = "/chat/get_token"
    reply_path = "/stream"
    no_delete = "converzen (seed 003) has no delete call; an unused session simply expires"
    short_ttl = 2.0  # `expires_at` is whole UNIX seconds, so 1 s could be 0 s

    def emulator(self) -> ConverzenEmulator:
        return ConverzenEmulator()

    def values(self, root: str) -> dict[str, Any]:
        return {"converzen_api_key": TEST_KEY, "converzen_api_url": f"{root}/api"}


class SenseflowKit(Kit):
    name, label = "senseflow", "SenseFlow"
    provider_class = SenseflowProvider
    route = "chat"
    error_body: ClassVar[dict[str, Any]] = {
        "code": "invalid_param",
        "message": DETAIL,
        "status": 400,
    }
    reply_path = "/chat-messages"
    no_token_auth = "SenseFlow (seed 004) authorises with a static app key: no token endpoint"

    def emulator(self) -> SenseflowEmulator:
        return SenseflowEmulator()

    def values(self, root: str) -> dict[str, Any]:
        url = f"{root}/v1"
        return {"senseflow_api_key": API_KEY, "senseflow_agent": AGENT, "senseflow_api_url": url}


class OpenAIKit(Kit):
    name, label = "openai", "The model server"
    provider_class = OpenAICompatProvider
    route = "chat"
    error_body: ClassVar[dict[str, Any]] = {
        "error": {"message": DETAIL, "type": "invalid_request_error"}
    }
    held_in = ""
    reply_path = "/chat/completions"
    no_token_auth = "OpenAI-compatible servers take a static API key (or none): no token endpoint"

    def emulator(self) -> OpenAIEmulator:
        return OpenAIEmulator()

    def values(self, root: str) -> dict[str, Any]:
        return {"openai_base_url": f"{root}/v1", "openai_model": "llama3"}

    async def held(self, emu: Any, provider: Provider, conversation: Conversation) -> int:
        assert isinstance(provider, OpenAICompatProvider)
        return len(await provider.history(conversation.thread))


KITS: tuple[Kit, ...] = (
    NeuroflashKit(),
    PrototypeKit(),
    ConverzenKit(),
    SenseflowKit(),
    OpenAIKit(),
)


def with_kits(*kits: Kit) -> pytest.MarkDecorator:
    """Run a test once per kit, each as the `kit` fixture (and so `emu`, `provider`, `bench`)."""
    return pytest.mark.parametrize("kit", kits, ids=[k.name for k in kits], indirect=True)


# Posting and reading a reply as bridge/turn.py does -------------------------------------------


def thread_key(n: int = 100, channel: str = "C1") -> ThreadKey:
    return ThreadKey("slack", "T1", channel, f"1700000000.{n:06d}")


THREAD = thread_key()


def user_post(
    n: int = 1, text: str = "hi", *, author: str = "U1", thread: ThreadKey = THREAD
) -> UserPost:
    """The `n`th post in `thread`, stamped `n` seconds after a fixed time."""
    return UserPost(thread, f"m{n}", author, text, 1700000000.0 + n)


async def collect(provider: Provider, conv: Conversation, post: UserPost) -> list[ReplyEvent]:
    return [event async for event in provider.reply(conv, post)]


def final(events: list[ReplyEvent]) -> str | None:
    """The text the renderer would show: ReplyDone.text when given, else the deltas."""
    done = events[-1]
    assert isinstance(done, ReplyDone), events
    return done.text if done.text is not None else deltas(events)


def deltas(events: list[ReplyEvent]) -> str:
    return "".join(e.text for e in events if isinstance(e, TextDelta))


def started(events: list[ReplyEvent]) -> list[str]:
    return [e.conversation_id for e in events if isinstance(e, ConversationStarted)]


def told(failure: ReplyFailed) -> str:
    """What a failure says to the user and, for the log only, its detail (status, body)."""
    return f"{failure.message} | {failure.detail or ''}"


@dataclass
class Turn:
    """Everything one reply yielded, read the way the core reads it."""

    events: list[ReplyEvent] = field(default_factory=list)

    @property
    def deltas(self) -> str:
        return deltas(self.events)

    @property
    def started(self) -> list[str]:
        return started(self.events)

    @property
    def end(self) -> ReplyDone | ReplyFailed:
        """The one terminal event; it must come last."""
        ends = [e for e in self.events if isinstance(e, ReplyDone | ReplyFailed)]
        assert len(ends) == 1 and self.events[-1] is ends[0], self.events
        return ends[0]

    @property
    def text(self) -> str:
        """The final text: `ReplyDone.text` when given, else the deltas (as bridge/turn.py)."""
        end = self.end
        assert isinstance(end, ReplyDone), self.events
        return end.text if end.text is not None else self.deltas

    @property
    def failure(self) -> ReplyFailed:
        end = self.end
        assert isinstance(end, ReplyFailed), self.events
        return end


async def binding_for(providers: Providers, store: Store, post: UserPost) -> Conversation:
    """The thread's binding, created once with the default provider (as `Turns._conversation`)."""
    binding = await store.binding(post.thread)
    if binding is not None:
        return binding
    provider = providers.get(providers.default)
    conversation_id = await provider.open(post.thread, {})
    return await store.bind(Conversation(providers.default, conversation_id, post.thread, {}))


async def take_turn(providers: Providers, store: Store, post: UserPost) -> Turn:
    """Answer `post` through the Provider protocol; a new id from the stream is stored."""
    binding = await binding_for(providers, store, post)
    return await consume(providers.get(binding.provider), store, binding, post)


async def consume(provider: Provider, store: Store, binding: Conversation, post: UserPost) -> Turn:
    turn = Turn()
    events = provider.reply(binding, post)
    try:
        async for event in events:
            turn.events.append(event)
            if isinstance(event, ConversationStarted):
                await store.set_conversation_id(post.thread, event.conversation_id)
    finally:
        await events.aclose()
    return turn


# A process's providers, emulators and unreachable servers ------------------------------------


@dataclass
class Bench:
    """One kit's emulator and the providers of one process, over a real Redis store."""

    kit: Kit
    emu: Any
    store: Store
    providers: Providers

    @property
    def provider(self) -> Provider:
        return self.providers.get(self.kit.name)

    async def turn(self, post: UserPost) -> Turn:
        return await take_turn(self.providers, self.store, post)

    async def reset(self, thread: ThreadKey) -> None:
        """`Hub.reset`: forget the conversation at its provider, then unbind the thread.

        Unlike the hub, a failing `forget` is not swallowed here: the suite wants to see it.
        """
        binding = await self.store.binding(thread)
        if binding is not None:
            await self.providers.get(binding.provider).forget(binding)
            await self.store.unbind(thread)


OpenProviders = Callable[..., AbstractAsyncContextManager[Providers]]
OpenBench = Callable[..., AbstractAsyncContextManager[Bench]]


@asynccontextmanager
async def running(kit: Kit) -> AsyncIterator[Any]:
    """The kit's emulator on loopback, stopped on exit."""
    emu = kit.emulator()
    await emu.start()
    try:
        yield emu
    finally:
        await emu.stop()


@contextmanager
def closed_port() -> Iterator[str]:
    """A loopback URL nobody listens on: connecting is refused at once. The port stays bound
    (without listening) until the end, so no other test's server can take it meanwhile."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"


@contextmanager
def blackhole() -> Iterator[str]:
    """A loopback URL whose connects hang: a listener with a full accept queue drops SYNs."""
    server = socket.socket()
    fillers: list[socket.socket] = []
    try:
        server.bind(("127.0.0.1", 0))
        server.listen(0)
        port = server.getsockname()[1]
        for _ in range(3):
            filler = socket.socket()
            filler.setblocking(False)
            try:
                filler.connect(("127.0.0.1", port))
            except BlockingIOError:
                pass
            fillers.append(filler)
        yield f"http://127.0.0.1:{port}"
    finally:
        for filler in fillers:
            filler.close()
        server.close()
