"""`threadbridge demo` runs the whole path on a fresh machine and prints its summary."""

from __future__ import annotations

import os
import subprocess
import sys


def test_demo_exits_zero_with_a_summary(redis_url: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "NEUROFLASH_"))}
    result = subprocess.run(
        [sys.executable, "-m", "bridge.cli", "demo"],
        env=env | {"REDIS_URL": redis_url},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    summary = result.stdout.strip().splitlines()[-1]
    assert summary.startswith("Summary: 3 replies")
    assert "1 conversation" in summary and summary.endswith("exact match: yes")
