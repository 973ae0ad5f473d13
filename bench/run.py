"""One benchmark run: the same load through the bridge, then through the floor.

Each phase gets fresh emulators in this process (the messenger and neuroflash, on loopback) and
one subprocess under test: `python -m bridge.cli run` or `python -m bench.floor`, configured only
through its environment. The subprocess's CPU and memory are read from /proc; the messenger's
and provider's records give every latency. Nothing from the start-up counts: CPU is measured
from the moment the process is connected and idle to the moment every reply is complete.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import tempfile
import time
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError

from bench.metrics import (
    Sampler,
    best_latencies,
    cpu_seconds,
    latencies,
    machine,
    memory_kb,
    over_best,
    reply_counts,
)
from bench.platforms import Messenger, messenger
from bench.process import Process
from bench.provider import TimedNeuroflash

SETTLE_SECONDS = 1.0
"""Idle time after start-up before measuring, and after the last reply before reading state."""
IDLE_SECONDS = 2.0
"""How long the idle process's own CPU use is measured before the load starts."""
_CLEARED = (
    "SLACK_",
    "DISCORD_",
    "TEAMS_",
    "NEUROFLASH_",
    "BRIDGE_",
    "REDIS_",
    "CONVERZEN_",
    "SENSEFLOW_",
)
_PROXIES = ("HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY", "https_proxy", "http_proxy", "all_proxy")


@dataclass
class Options:
    platform: str = "discord"
    threads: int = 100
    tokens: int = 300
    rate: float = 30.0
    ramp: float = 0.0
    """Seconds over which the posts are spread (0: all at once)."""
    redis_url: str = "redis://127.0.0.1:6379/0"
    global_limit: int | None = 50
    """Discord's global requests/s per bot, enforced by the emulator (None: not enforced)."""

    @property
    def timeout(self) -> float:
        """How long the load may take before the phase gives up on unfinished replies."""
        per_thread = {"slack": 60 / 50, "teams": 1.0}.get(self.platform, 1 / 5)
        writes = self.threads * per_thread
        return 60.0 + self.ramp + 3 * self.tokens / self.rate + 2 * writes


def base_env(options: Options, prefix: str) -> dict[str, str]:
    """The inherited environment minus anything that could point the process elsewhere."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(_CLEARED) and k not in _PROXIES}
    return env | {
        "PYTHONUNBUFFERED": "1",
        "PYTHONPATH": str(Path(__file__).resolve().parent.parent),
        "BENCH_PLATFORM": options.platform,
        "REDIS_URL": options.redis_url,
        "BRIDGE_REDIS_PREFIX": prefix,
        "BRIDGE_HTTP_PORT": "0",
        "BRIDGE_PROVIDER": "neuroflash",
        "BENCH_DISCORD_WRITES_PER_SECOND": str(0.9 * (options.global_limit or 1000)),
    }


async def redis_cpu(redis: Redis) -> float | None:
    """CPU seconds the whole Redis server has used (other clients of it included)."""
    try:
        info = await redis.info("cpu")
    except (RedisError, OSError):
        return None
    return float(info["used_cpu_user"]) + float(info["used_cpu_sys"])


async def post_all(chat: Messenger, options: Options) -> None:
    gap = options.ramp / options.threads if options.threads else 0.0
    posts = []
    for index in range(options.threads):
        posts.append(asyncio.create_task(chat.post(index)))
        if gap:
            await asyncio.sleep(gap)
    await asyncio.gather(*posts)


async def wait_complete(
    chat: Messenger, provider: TimedNeuroflash, process: Process, options: Options
) -> set[int]:
    """Wait until every thread shows the provider's full text; the threads that never did
    (on timeout or a crash)."""
    deadline = time.monotonic() + options.timeout
    pending = set(range(options.threads))
    while pending:
        for index in list(pending):
            run = provider.generations.get(index)
            if run is not None and run.done_at is not None and chat.text(index) == run.text:
                pending.discard(index)
        if not process.alive or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.1)
    return pending


def unfinished(
    pending: set[int], chat: Messenger, provider: TimedNeuroflash
) -> list[dict[str, Any]]:
    """What the first few unfinished threads show, to tell a slow reply from a lost one."""
    found = []
    for index in sorted(pending)[:10]:
        run = provider.generations.get(index)
        shown = chat.text(index)
        found.append(
            {
                "thread": index,
                "provider_done": run is not None and run.done_at is not None,
                "expected_chars": len(run.text) if run is not None else None,
                "shown_chars": len(shown),
                "shown_tail": shown[-60:],
            }
        )
    return found


async def run_phase(kind: str, options: Options) -> dict[str, Any]:
    """Drive `options.threads` replies through the bridge or the floor and measure them."""
    prefix = f"bench:{uuid.uuid4().hex[:10]}:"
    provider = TimedNeuroflash(options.tokens, options.rate)
    chat = messenger(options.platform, options.global_limit)
    redis = Redis.from_url(options.redis_url)
    with tempfile.TemporaryDirectory(prefix=f"bench-{kind}-") as folder:
        process: Process | None = None
        try:
            await provider.start()
            await chat.start(options.threads)
            env = base_env(options, prefix) | provider.env() | chat.env()
            process = await Process.start(kind, env, Path(folder))
            return await measure(options, provider, chat, process, redis)
        finally:
            if process is not None:
                await process.stop()
            await chat.stop()
            await provider.stop()
            with contextlib.suppress(RedisError, OSError):
                async for key in redis.scan_iter(match=f"{prefix}*", count=500):
                    await redis.delete(key)
            await redis.aclose()


async def settle(chat: Messenger, pid: int) -> float:
    """Wait until the process is connected and quiet; its idle CPU share of one core."""
    for _ in range(400):
        if chat.connected():
            break
        await asyncio.sleep(0.05)
    await asyncio.sleep(SETTLE_SECONDS)
    before = cpu_seconds(pid)
    await asyncio.sleep(IDLE_SECONDS)
    return (cpu_seconds(pid) - before) / IDLE_SECONDS


async def measure(
    options: Options,
    provider: TimedNeuroflash,
    chat: Messenger,
    process: Process,
    redis: Redis,
) -> dict[str, Any]:
    """Post to every thread, wait for every reply, and describe what it cost and looked like."""
    idle = await settle(chat, process.pid)
    cpu0, own0, redis0 = cpu_seconds(process.pid), time.process_time(), await redis_cpu(redis)
    sampler = Sampler(process.pid, lambda: provider.live_streams)
    sampler.start()
    started = time.monotonic()
    await post_all(chat, options)
    pending = await wait_complete(chat, provider, process, options)
    wall = time.monotonic() - started
    cpu = cpu_seconds(process.pid) - cpu0 if process.alive else float("nan")
    own, redis1 = time.process_time() - own0, await redis_cpu(redis)
    memory = await sampler.stop()
    _, hwm = memory_kb(process.pid) if process.alive else (0, 0)
    await asyncio.sleep(SETTLE_SECONDS)
    seen = [chat.observe(i) for i in range(options.threads)]
    runs = [provider.generations.get(i) for i in range(options.threads)]
    counts = reply_counts(seen, runs, chat.rate_limited)
    result: dict[str, Any] = {
        "complete": not pending,
        "wall_s": round(wall, 2),
        "cpu_s": round(cpu, 3),
        "cpu_s_per_1k_tokens": round(cpu / max(counts["tokens"], 1) * 1000, 4),
        "cpu_share_of_one_core": round(cpu / wall, 3),
        "idle_cpu_share": round(idle, 4),
        "peak_rss_mb": round(hwm / 1024, 1),
        "idle_rss_mb": round(memory.idle_rss_kb / 1024, 1),
        "load_peak_rss_mb": round(memory.peak_rss_kb / 1024, 1),
        "rss_per_live_stream_kb": _round(memory.per_live_stream_kb, 1),
        "max_live_streams": memory.max_live,
        "emulators_cpu_s": round(own, 3),
        "redis_cpu_s": round(redis1 - redis0, 3) if redis0 is not None and redis1 else None,
        **counts,
        **latencies(seen, runs),
    }
    result["best"] = best_latencies(chat, seen, runs)
    result["over_best"] = over_best(result, result["best"])
    result["log_problems"] = process.problems()
    result["log_problem_lines"] = sum(result["log_problems"].values())
    if pending:
        result["unfinished"] = unfinished(pending, chat, provider)
        result["log_tail"] = process.tail()
    return result


def _round(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)


def ratio(bridge: dict[str, Any], floor: dict[str, Any], key: str) -> float | None:
    a, b = bridge.get(key), floor.get(key)
    if not isinstance(a, int | float) or not isinstance(b, int | float) or b <= 0:
        return None
    return round(a / b, 2)


async def run_bench(options: Options) -> dict[str, Any]:
    """Both phases and the bridge/floor ratios, as one JSON-ready report."""
    bridge = await run_phase("bridge", options)
    floor = await run_phase("floor", options)
    keys = ("cpu_s_per_1k_tokens", "peak_rss_mb", "load_peak_rss_mb", "rss_per_live_stream_kb")
    return {
        "machine": machine(),
        "options": asdict(options),
        "bridge": bridge,
        "floor": floor,
        "bridge_over_floor": {key: ratio(bridge, floor, key) for key in keys},
    }
