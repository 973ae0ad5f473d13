"""A bridge wired to the Mattermost emulator, in this event loop or as replica processes.

In this event loop the adapter's settings are test values (`mattermost_url=`, like the other
adapters'); replica processes and the settings tests read MATTERMOST_* from the environment.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from typing import Any

from emulators.mattermost import MattermostEmulator, Post
from tests.harness import Env, bridge_env


@contextmanager
def environment(values: dict[str, str]) -> Iterator[None]:
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def mattermost_vars(emu: MattermostEmulator, **extra: str) -> dict[str, str]:
    return {"MATTERMOST_URL": emu.api_url, "MATTERMOST_TOKEN": emu.token, **extra}


@dataclass
class MM:
    env: Env
    emu: MattermostEmulator

    def text(self, root: Post | str) -> str:
        return self.emu.thread_text(root if isinstance(root, str) else root.id)

    async def wait(self, predicate: Callable[[], bool], timeout: float = 20.0) -> None:
        await self.env.wait(predicate, timeout)

    async def wait_text(self, root: Post | str, expected: str, timeout: float = 20.0) -> None:
        await self.wait(lambda: self.text(root) == expected, timeout)

    def streams(self) -> list[str]:
        """The texts neuroflash was asked to answer, in order."""
        return [c.body["text"] for c in self.env.neuroflash.calls_to("message-streams", "POST")]


@asynccontextmanager
async def mattermost_bridge(
    redis_url: str,
    prefix: str,
    emu: MattermostEmulator | None = None,
    mm_vars: dict[str, str] | None = None,
    **kwargs: Any,
) -> AsyncIterator[MM]:
    emu = emu or MattermostEmulator()
    await emu.start()
    try:
        values = {k.lower(): v for k, v in mattermost_vars(emu, **(mm_vars or {})).items()}
        async with bridge_env(redis_url, prefix, slack=False, **values, **kwargs) as env:
            yield MM(env, emu)
    finally:
        await emu.stop()
