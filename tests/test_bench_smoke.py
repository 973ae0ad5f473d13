"""The benchmark end to end in miniature: a real bridge process and the floor, a few threads."""

from __future__ import annotations

from bench.__main__ import table
from bench.run import Options, run_bench


async def test_quick_bench_reports_sane_numbers(redis_url: str) -> None:
    options = Options(threads=4, tokens=40, rate=40.0, redis_url=redis_url)
    report = await run_bench(options)
    for name in ("bridge", "floor"):
        result = report[name]
        assert result["complete"], result.get("log_tail")
        assert result["replies"] == 4
        assert result["mismatched_replies"] == 0
        assert result["tokens"] >= 4 * 40
        assert 0 < result["cpu_s_per_1k_tokens"] < 20
        assert 20 < result["peak_rss_mb"] < 1000
        assert result["post_to_first_text_s"]["n"] == 4
        assert 0 < result["post_to_first_text_s"]["p99"] < 15
        assert result["final_lag_s"]["p99"] < 10
        assert result["edits_per_reply"] >= 1
        assert result["max_live_streams"] >= 1
        best = result["best"]
        for key in ("post_to_first_text_s", "first_visible_s", "final_lag_s"):
            assert best[key]["n"] == 4
            assert 0 <= best[key]["p99"] <= result[key]["p99"] + 0.01
    assert report["bridge_over_floor"]["cpu_s_per_1k_tokens"] is not None
    assert "bridge/floor.py" in table(report) and "best schedule" in table(report)
