"""`python -m bench`: run the benchmark, print a table, write bench/results.json.

python -m bench                       # 100 Discord threads, 300 tokens each at 30 tokens/s
python -m bench --quick               # 10 threads, a smoke run
python -m bench --platform slack      # one Slack workspace (20 threads unless --threads)
python -m bench --platform mattermost # one Mattermost bot token (20 threads unless --threads)
python -m bench --platform teams      # one Teams channel (20 threads unless --threads)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from pathlib import Path
from typing import Any

from bench.run import Options, run_bench

RESULTS = Path(__file__).resolve().parent / "results.json"
ROWS: list[tuple[str, str, str | None]] = [
    ("all replies complete", "complete", None),
    ("replies (mismatched)", "replies", "mismatched_replies"),
    ("wall s", "wall_s", None),
    ("CPU s per 1k tokens", "cpu_s_per_1k_tokens", None),
    ("CPU share of one core (idle)", "cpu_share_of_one_core", "idle_cpu_share"),
    ("peak RSS MB (VmHWM)", "peak_rss_mb", None),
    ("RSS idle → under load MB", "idle_rss_mb", "load_peak_rss_mb"),
    ("RSS per live stream kB", "rss_per_live_stream_kb", None),
    ("post → placeholder s p50/p99", "post_to_placeholder_s", None),
    ("post → first text s p50/p99", "post_to_first_text_s", None),
    ("first visible s p50/p99", "first_visible_s", None),
    ("final lag s p50/p99", "final_lag_s", None),
    ("edits per reply (max)", "edits_per_reply", "max_edits_per_reply"),
    ("429s per reply (total)", "rate_limited_per_reply", "rate_limited_total"),
    ("emulators CPU s (this process)", "emulators_cpu_s", None),
    ("Redis CPU s (whole server)", "redis_cpu_s", None),
    ("warnings/errors logged (top kinds)", "log_problem_lines", None),
]


def parse(argv: list[str] | None) -> Options:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    parser.add_argument(
        "--platform", choices=["discord", "slack", "teams", "mattermost"], default="discord"
    )
    parser.add_argument("--threads", type=int, help="concurrent threads (100; Slack 20)")
    parser.add_argument("--tokens", type=int, default=300, help="stream deltas per reply")
    parser.add_argument("--rate", type=float, default=30.0, help="tokens per second per stream")
    parser.add_argument("--ramp", type=float, default=0.0, help="seconds to spread posts over")
    parser.add_argument("--quick", action="store_true", help="smoke run: 10 threads, 60 tokens")
    parser.add_argument(
        "--discord-global-limit",
        type=int,
        default=50,
        help="requests/s per bot the Discord emulator allows (Discord: 50; 0 turns it off)",
    )
    args = parser.parse_args(argv)
    threads = args.threads or (100 if args.platform == "discord" else 20)
    tokens = args.tokens
    if args.quick:
        threads, tokens = min(args.threads or 10, 10), min(tokens, 60)
    return Options(
        platform=args.platform,
        threads=threads,
        tokens=tokens,
        rate=args.rate,
        ramp=args.ramp,
        redis_url=os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0",
        global_limit=args.discord_global_limit or None,
    )


def cell(result: dict[str, Any], key: str, extra: str | None) -> str:
    value = result.get(key)
    if isinstance(value, dict):
        return "—" if value.get("p50") is None else f"{value['p50']:.3f} / {value['p99']:.3f}"
    text = "—" if value is None else str(value)
    if extra is not None:
        other = result.get(extra)
        text += f" → {other}" if key == "idle_rss_mb" else f" ({other})"
    return text


def over_best(result: dict[str, Any], key: str) -> str:
    """`p50 / p99` of measured ÷ best for a latency figure ("—" where the best is about 0)."""
    ratios = (result.get("over_best") or {}).get(key)
    if ratios is None:
        return ""
    return " / ".join("—" if ratios[q] is None else f"{ratios[q]:.2f}" for q in ("p50", "p99"))


def table(report: dict[str, Any]) -> str:
    """Each figure for the bridge, the best schedule of its load (latencies only), the floor
    process (`floor.py`), and the ratios."""
    bridge, floor, ratios = report["bridge"], report["floor"], report["bridge_over_floor"]
    best = bridge.get("best") or {}
    lines = [
        f"{'':32} {'bridge':>22} {'best schedule':>22} {'bridge/best':>12} "
        f"{'floor.py':>22} {'bridge/floor.py':>15}"
    ]
    for label, key, extra in ROWS:
        ratio = ratios.get(key)
        bound = cell(best, key, None) if key in best else ""
        lines.append(
            f"{label:32} {cell(bridge, key, extra):>22} {bound:>22} "
            f"{over_best(bridge, key):>12} {cell(floor, key, extra):>22} "
            f"{'' if ratio is None else ratio:>15}".rstrip()
        )
    m, o = report["machine"], report["options"]
    lines.append(
        f"{o['platform']}, {o['threads']} threads × {bridge['tokens'] // max(o['threads'], 1)} "
        f"tokens at {o['rate']:g}/s; {m['nproc']} CPUs ({m['cpu']}), {m['memory_gb']} GB, "
        f"Python {m['python']}, {m['date']}"
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    options = parse(argv)
    print(
        f"bench: {options.platform}, {options.threads} threads, {options.tokens} tokens "
        f"at {options.rate:g}/s (bridge, then floor)…",
        file=sys.stderr,
    )
    report = asyncio.run(run_bench(options))
    RESULTS.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    print(table(report))
    print(f"written: {RESULTS}")
    ok = report["bridge"]["complete"] and report["bridge"]["mismatched_replies"] == 0
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
