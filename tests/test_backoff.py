"""One backoff: waits grow by a factor per attempt up to a cap, never overflow, and jitter only
lengthens a wait, within its spread; no other module of the core or a plugin draws its own."""

from __future__ import annotations

import ast
import math
from pathlib import Path

from bridge.contracts.backoff import SPREAD, backoff, exponential, jitter

ROOT = Path(__file__).resolve().parent.parent


def test_waits_double_from_the_base_up_to_the_cap() -> None:
    waits = [exponential(n, base=0.5, cap=8.0) for n in range(8)]
    assert waits == [0.5, 1.0, 2.0, 4.0, 8.0, 8.0, 8.0, 8.0]
    assert exponential(3, base=0.1, cap=1.0, factor=3.0) == min(1.0, 0.1 * 27)


def test_no_cap_means_pure_growth() -> None:
    assert [exponential(n, base=0.25) for n in range(4)] == [0.25, 0.5, 1.0, 2.0]


def test_any_attempt_count_is_safe() -> None:
    """A retry counter kept in Redis may be large: the wait is the cap, not an OverflowError."""
    assert exponential(10_000, base=0.5, cap=30.0) == 30.0
    assert exponential(10_000, base=0.5) == math.inf
    assert exponential(-3, base=0.5, cap=30.0) == 0.5


def test_jitter_only_lengthens_within_its_spread() -> None:
    samples = [jitter(3.0) for _ in range(500)]
    assert all(3.0 <= s <= 3.0 * (1 + SPREAD) for s in samples)
    assert max(samples) - min(samples) > 0.5, "waits refused together must spread apart"
    assert all(jitter(2.0, spread=0.0) == 2.0 for _ in range(10))


def test_backoff_is_the_capped_wait_jittered() -> None:
    for attempt in range(12):
        plain = exponential(attempt, base=0.5, cap=30.0)
        wait = backoff(attempt, base=0.5, cap=30.0)
        assert plain <= wait <= plain * (1 + SPREAD)


def test_no_other_module_draws_its_own_jitter() -> None:
    """Every random wait comes from `bridge.contracts.backoff`."""
    own = ROOT / "bridge" / "contracts" / "backoff.py"
    drawing = []
    for folder in ("bridge", "adapters"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            tree = ast.parse(path.read_text())
            for node in ast.walk(tree):
                names = (
                    [a.name for a in node.names]
                    if isinstance(node, ast.Import)
                    else [node.module or ""]
                    if isinstance(node, ast.ImportFrom)
                    else []
                )
                if "random" in names and path != own:
                    drawing.append(str(path.relative_to(ROOT)))
    assert drawing == []
