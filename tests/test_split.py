"""Splitting a reply into messages: clean boundaries, balanced fences, nothing lost."""

from __future__ import annotations

import random

import pytest

from bridge.contracts.toolkit.split import (
    Pages,
    close_for_display,
    cut_point,
    open_fence,
    seal,
    split,
)


def _joined(pages: list[str]) -> str:
    """Concatenate pages, removing the fence closures and reopenings the splitter added."""
    out: list[str] = []
    reopen = ""
    for page in pages:
        assert page.startswith(reopen)
        body = page[len(reopen) :]
        _, reopen_next = seal(_without_closure(page))
        if reopen_next:
            body = body[: body.rfind("\n") + 1]
        out.append(body)
        reopen = reopen_next
    return "".join(out)


def _without_closure(page: str) -> str:
    """A page that ends with a fence closure the splitter added, without it."""
    head, _, last = page.rpartition("\n")
    if open_fence(page) is None and open_fence(head + "\n") is not None and last.strip("`~") == "":
        return head + "\n"
    return page


def test_short_text_is_one_page() -> None:
    assert split("hello", 100) == ["hello"]


def test_prefers_paragraph_boundaries() -> None:
    text = ("word " * 30 + "\n\n") * 10
    pages = split(text, 400)
    assert all(len(p) <= 400 for p in pages)
    assert all(p.endswith("\n\n") for p in pages[:-1])
    assert "".join(pages) == text


def test_never_cuts_inside_a_fence_when_a_line_outside_exists() -> None:
    code = "```python\n" + "x = 1\n" * 20 + "```\n"
    text = "Intro line.\n" * 10 + "\n" + code + "\nAfter.\n"
    pages = split(text, len(code) + 40)
    assert "".join(pages) == text
    for page in pages:
        assert open_fence(page) is None


def test_long_fence_is_closed_and_reopened() -> None:
    code = "```python\n" + "".join(f"value_{i} = {i}\n" for i in range(200)) + "```\n"
    pages = split("Intro\n\n" + code, 500)
    assert len(pages) > 3
    for page in pages:
        assert len(page) <= 500
        assert open_fence(page) is None
    assert all(p.startswith("```python\n") for p in pages[1:])
    assert _joined(pages) == "Intro\n\n" + code


def test_growing_text_freezes_the_same_pages_as_a_fresh_split() -> None:
    rng = random.Random(7)
    words = ["alpha", "beta", "😀", "naïve", "```", "\n", "\n\n", "code", "`x`"]
    text = "".join(rng.choice(words) + " " for _ in range(3000))
    pages = Pages(700)
    seen: list[str] = []
    pos = 0
    while pos < len(text):
        pos += rng.randint(1, 40)
        seen = pages.update(text[:pos])
    assert seen == split(text, 700)


@pytest.mark.parametrize("limit", [64, 200, 2000])
def test_pages_respect_the_limit(limit: int) -> None:
    text = "x" * 5000 + " tail"
    assert all(len(p) <= limit for p in split(text, limit))
    assert "".join(split(text, limit)) == text


def test_cut_point_leaves_room_for_a_fence_closure() -> None:
    text = "```\n" + "y" * 50 + "\n" + "z" * 500
    cut = cut_point(text, 100)
    page, reopen = seal(text[:cut])
    assert len(page) <= 100 and reopen == "```\n"


def test_interim_text_closes_open_code() -> None:
    assert close_for_display("```py\nprint(1)") == "```py\nprint(1)\n```"
    assert close_for_display("```py\nprint(1)\n``") == "```py\nprint(1)\n```"
    assert close_for_display("Intro:\n\n```") == "Intro:\n\n```\n```"
    assert close_for_display("use `grep") == "use `grep`"
    assert close_for_display("done `x` and more") == "done `x` and more"
    assert close_for_display("```\ncode\n```\nafter") == "```\ncode\n```\nafter"


def test_every_prefix_displays_with_balanced_fences() -> None:
    text = "Intro `x`:\n\n```js\nconsole.log('a')\n```\n\nMid ~~~\n\n~~~~py\ny = 2\n~~~~\nEnd `q`."
    for end in range(len(text) + 1):
        shown = close_for_display(text[:end])
        assert open_fence(shown) is None, repr(text[:end])
        assert shown.startswith(text[:end].rsplit("\n", 1)[0])
