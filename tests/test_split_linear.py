"""Splitting is linear in the text size: each page looks at a bounded window, never the rest."""

from __future__ import annotations

import pytest

import bridge.contracts.toolkit.split as split_module
from bridge.contracts.toolkit.split import Pages, split

LIMIT = 4000


def _big_text(size: int) -> str:
    paragraph = ("lorem ipsum dolor sit amet " * 12).strip() + "\n\n"
    code = "```python\n" + "x = 1\n" * 40 + "```\n\n"
    unit = paragraph * 5 + code
    return (unit * (size // len(unit) + 1))[:size]


def test_split_of_two_megabytes_reads_a_bounded_window_per_page(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Count the characters handed to the cut finder: at most limit+1 per page."""
    text = _big_text(2_000_000)
    seen: list[int] = []
    real = split_module.cut_point

    def counting(tail: str, limit: int) -> int:
        seen.append(len(tail))
        return real(tail, limit)

    monkeypatch.setattr(split_module, "cut_point", counting)
    pages = split(text, LIMIT)
    assert len(pages) == len(seen) + 1
    assert max(seen) <= LIMIT + 1
    assert sum(seen) <= (LIMIT + 1) * len(pages)
    assert all(len(page) <= LIMIT for page in pages)
    growing = Pages(LIMIT)
    for end in range(0, len(text), 97_919):
        growing.update(text[:end])
    assert growing.update(text) == pages
