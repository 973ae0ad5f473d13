"""Measuring a process from outside (/proc, no psutil) and turning observations into figures.

CPU is utime + stime of the process; memory is VmRSS (now) and VmHWM (peak) from
/proc/<pid>/status. Latencies are in seconds, reported as p50/p99/max over replies.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import platform
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.messenger import Messenger, Observed
from bench.provider import Generation

SAMPLE_SECONDS = 0.2
_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds the process has used so far."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / _TICKS


def memory_kb(pid: int) -> tuple[int, int]:
    """(VmRSS, VmHWM) of the process in kB."""
    values: dict[str, int] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            values[key] = int(rest.split()[0])
    return values.get("VmRSS", 0), values.get("VmHWM", 0)


@dataclass
class MemorySample:
    """idle: before the load; peak: the highest sample; at_max_live: when most streams ran."""

    idle_rss_kb: int = 0
    peak_rss_kb: int = 0
    max_live: int = 0
    rss_at_max_live_kb: int = 0

    @property
    def per_live_stream_kb(self) -> float | None:
        """What one live stream costs: growth over idle when the most streams ran, per stream."""
        if not self.max_live:
            return None
        return (self.rss_at_max_live_kb - self.idle_rss_kb) / self.max_live


class Sampler:
    """Samples a process's RSS and the number of live streams while the load runs."""

    def __init__(self, pid: int, live: Callable[[], int]) -> None:
        self.pid = pid
        self._live = live
        rss, _ = memory_kb(pid)
        self.sample = MemorySample(idle_rss_kb=rss, peak_rss_kb=rss)
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="bench-sampler")

    async def stop(self) -> MemorySample:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._take()
        return self.sample

    async def _run(self) -> None:
        while True:
            self._take()
            await asyncio.sleep(SAMPLE_SECONDS)

    def _take(self) -> None:
        try:
            rss, _ = memory_kb(self.pid)
        except OSError:
            return
        live = self._live()
        s = self.sample
        s.peak_rss_kb = max(s.peak_rss_kb, rss)
        if live > s.max_live or (live == s.max_live and rss > s.rss_at_max_live_kb):
            s.max_live, s.rss_at_max_live_kb = live, rss


def percentile(values: list[float], q: float) -> float:
    """Linear-interpolated percentile (q in 0..100) of a non-empty list."""
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def spread(values: list[float]) -> dict[str, float | int | None]:
    if not values:
        return {"n": 0, "p50": None, "p99": None, "max": None}
    return {
        "n": len(values),
        "p50": round(percentile(values, 50), 4),
        "p99": round(percentile(values, 99), 4),
        "max": round(max(values), 4),
    }


def latencies(seen: list[Observed], runs: list[Generation | None]) -> dict[str, Any]:
    """Per-reply latencies from the messenger's and the provider's clocks (one machine)."""
    to_placeholder, to_text, visible, lag, stream = [], [], [], [], []
    for obs, run in zip(seen, runs, strict=True):
        if obs.placeholder_at is not None:
            to_placeholder.append(obs.placeholder_at - obs.posted_at)
        if obs.first_text_at is not None:
            to_text.append(obs.first_text_at - obs.posted_at)
            if run is not None:
                visible.append(obs.first_text_at - run.first_token_at)
        if run is not None and run.done_at is not None:
            stream.append(run.done_at - run.first_token_at)
            if obs.last_write_at is not None:
                lag.append(obs.last_write_at - run.done_at)
    return {
        "post_to_placeholder_s": spread(to_placeholder),
        "post_to_first_text_s": spread(to_text),
        "first_visible_s": spread(visible),
        "final_lag_s": spread(lag),
        "provider_stream_s": spread(stream),
    }


BEST_FIGURES = ("post_to_first_text_s", "first_visible_s", "final_lag_s")
"""The latency figures the best schedule bounds."""


def best_latencies(
    chat: Messenger, seen: list[Observed], runs: list[Generation | None]
) -> dict[str, Any]:
    """The latency figures of the best schedule any bridge could achieve for this run's load
    under the limits the messenger enforced: the provider asked at the post, its own timing
    (request to first token, first to last token) as it was in the run."""
    timed = [
        (i, obs, run)
        for i, (obs, run) in enumerate(zip(seen, runs, strict=True))
        if run is not None and run.done_at is not None
    ]
    if not timed:
        return {key: spread([]) for key in BEST_FIGURES}
    origin = min(obs.posted_at for _, obs, _ in timed)
    loads = [
        chat.load(i, obs.posted_at - origin, *asked_at_post(obs.posted_at - origin, run), run.text)
        for i, obs, run in timed
    ]
    best = chat.best(loads)
    return {
        "post_to_first_text_s": spread(
            [b.first_text - x.posted for b, x in zip(best, loads, strict=True)]
        ),
        "first_visible_s": spread(
            [b.first_text - x.first_token for b, x in zip(best, loads, strict=True)]
        ),
        "final_lag_s": spread([b.final - x.done for b, x in zip(best, loads, strict=True)]),
    }


def asked_at_post(posted: float, run: Generation) -> tuple[float, float]:
    """(first token, last token) of `run`, on `posted`'s clock, had the provider been asked at
    `posted`: any bridge may ask it at once, before opening a thread for the reply."""
    asked = run.asked_at if run.asked_at is not None else run.first_token_at
    first = posted + max(0.0, run.first_token_at - asked)
    return first, first + ((run.done_at or run.first_token_at) - run.first_token_at)


RATIO_FROM = 0.05
"""Seconds a best figure must reach for a ratio to mean anything: below it the schedule's
requests take no time at all (limits off, instant first token) and any bridge is "∞×"."""


def over_best(measured: dict[str, Any], best: dict[str, Any]) -> dict[str, Any]:
    """Each latency figure's p50 and p99 as measured ÷ best (None where the best is below
    `RATIO_FROM`: compare the seconds then)."""
    ratios: dict[str, Any] = {}
    for key in BEST_FIGURES:
        a, b = measured.get(key) or {}, best.get(key) or {}
        ratios[key] = {
            q: round(a[q] / b[q], 2)
            if a.get(q) is not None and (b.get(q) or 0) >= RATIO_FROM
            else None
            for q in ("p50", "p99")
        }
    return ratios


def reply_counts(
    seen: list[Observed], runs: list[Generation | None], rate_limited: int
) -> dict[str, Any]:
    n = max(len(seen), 1)
    mismatched = sum(
        1 for obs, run in zip(seen, runs, strict=True) if run is None or obs.text != run.text
    )
    return {
        "replies": len(seen),
        "tokens": sum(run.tokens for run in runs if run is not None),
        "mismatched_replies": mismatched,
        "edits_per_reply": round(sum(o.edits for o in seen) / n, 2),
        "max_edits_per_reply": max((o.edits for o in seen), default=0),
        "messages_per_reply": round(sum(o.messages for o in seen) / n, 2),
        "rate_limited_total": rate_limited,
        "rate_limited_per_reply": round(rate_limited / n, 3),
    }


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    meminfo = Path("/proc/meminfo").read_text().split("\n", 1)[0].split()
    model = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "nproc": os.cpu_count(),
        "cpu": model,
        "memory_gb": round(int(meminfo[1]) / 1024 / 1024, 1),
        "python": sys.version.split()[0],
        "kernel": platform.release(),
    }
