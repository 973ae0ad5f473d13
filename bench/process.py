"""The process under test (the bridge or the floor): started, watched through its log, stopped.

Its stdout and stderr go to a file; the start-up line tells when it is up, and the WARNING and
ERROR lines it logged are counted for the report.
"""

from __future__ import annotations

import asyncio
import re
import signal
import sys
import time
from collections import Counter
from pathlib import Path

START_TIMEOUT = 60.0
IDS = re.compile(r"[0-9a-f][0-9a-f:.-]{7,}")
READY = {"bridge": "threadbridge is up", "floor": "floor is up"}
COMMAND = {"bridge": ["-m", "bridge.cli", "run"], "floor": ["-m", "bench.floor"]}


class Process:
    """A `python -m …` child with nothing but the given environment; its log in a file."""

    def __init__(self, kind: str, proc: asyncio.subprocess.Process, log_path: Path) -> None:
        self.kind = kind
        self.proc = proc
        self.log_path = log_path

    @classmethod
    async def start(cls, kind: str, env: dict[str, str], folder: Path) -> Process:
        """Start `kind` in `folder` with exactly `env`; return once it says it is up."""
        log_path = folder / f"{kind}.log"
        with log_path.open("ab") as log:
            proc = await asyncio.create_subprocess_exec(
                sys.executable,
                *COMMAND[kind],
                env=env,
                cwd=str(folder),
                stdin=asyncio.subprocess.DEVNULL,
                stdout=log,
                stderr=log,
            )
        process = cls(kind, proc, log_path)
        try:
            await process._wait_ready()
        except BaseException:
            await process.stop()
            raise
        return process

    @property
    def pid(self) -> int:
        return self.proc.pid

    @property
    def alive(self) -> bool:
        return self.proc.returncode is None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def problems(self, top: int = 8) -> dict[str, int]:
        """WARNING and ERROR lines logged since start, counted by what they say (ids masked)."""
        found: Counter[str] = Counter()
        for line in self.log().splitlines():
            parts = line.split(" ", 3)
            if line.startswith("floor: "):
                found[_generic(line)] += 1
            elif len(parts) == 4 and parts[2] in ("WARNING", "ERROR", "CRITICAL"):
                found[_generic(f"{parts[2]} {parts[3]}")] += 1
        return dict(found.most_common(top))

    def tail(self, lines: int = 30) -> str:
        return "\n".join(self.log().splitlines()[-lines:])

    async def _wait_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while READY[self.kind] not in self.log():
            if not self.alive or time.monotonic() > deadline:
                raise RuntimeError(f"{self.kind} did not come up:\n{self.tail()}")
            await asyncio.sleep(0.05)

    async def stop(self) -> None:
        if not self.alive:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(self.proc.wait(), 15.0)
        except TimeoutError:
            self.proc.kill()
            await self.proc.wait()


def _generic(message: str) -> str:
    """A log message with ids and numbers masked, so repeats count as one kind."""
    return IDS.sub("…", message)[:100]
