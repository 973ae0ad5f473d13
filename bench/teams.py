"""The Teams side of the benchmark: every thread is a mention in one channel of one team, so
all replies share that channel's per-conversation windows (7/1 s, 8/2 s, 60/30 s, 1,800/h) and
the app's 50 requests/s, all enforced by the emulator. The process under test serves the
messaging endpoint on a port chosen here; the emulator posts the activities to it.
"""

from __future__ import annotations

import socket

from bench import schedule
from bench.messenger import EmulatedMessenger, Shown
from bench.provider import question
from emulators.teams import CHANNEL, TeamsEmulator
from emulators.teams.state import Message

TEAMS_PAGE = 20_000
"""The bridge's page size (`adapters/teams/format.PAGE_LIMIT`)."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class TeamsMessenger(EmulatedMessenger[TeamsEmulator]):
    """The Teams emulator with its limits on; every thread is written in its one channel."""

    name = "teams"
    page = TEAMS_PAGE

    def __init__(self) -> None:
        super().__init__(TeamsEmulator())
        self.emu.enforce_limits()
        self._port = free_port()
        self._posts: dict[int, Message] = {}

    async def start(self, threads: int) -> None:
        await self.emu.start()
        self.emu.bot_endpoints = [f"http://127.0.0.1:{self._port}/api/messages"]

    def env(self) -> dict[str, str]:
        auth = self.emu.auth
        return {
            "BRIDGE_HTTP_PORT": str(self._port),
            "TEAMS_APP_ID": auth.app_id,
            "TEAMS_APP_PASSWORD": auth.password,
            "TEAMS_TENANT_ID": auth.tenant,
            "TEAMS_OPENID_METADATA_URL": self.emu.metadata_url,
            "TEAMS_TOKEN_URL": self.emu.token_url,
        }

    def connected(self) -> bool:
        return self.emu.auth.issued > 0

    async def post(self, index: int) -> None:
        self._posts[index] = await self.emu.channel_post(question(index))

    def text(self, index: int) -> str:
        post = self._posts.get(index)
        return self.emu.thread_text(post.id) if post is not None else ""

    def channel(self, index: int) -> str:
        return CHANNEL

    def _reply(self, index: int) -> tuple[float, list[Shown]]:
        post = self._posts[index]
        shown = [
            Shown(
                m.text, len(m.history) - 1, m.times[0], list(zip(m.times, m.history, strict=True))
            )
            for m in self.emu.bot_messages(CHANNEL, post.id)
        ]
        return post.times[0], shown

    @property
    def rate_limited(self) -> int:
        return self.emu.rate_limited

    def best(self, loads: list[schedule.Load]) -> list[schedule.Best]:
        return schedule.teams(loads)
