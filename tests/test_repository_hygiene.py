"""What a fresh clone shows a new user: a LICENSE matching pyproject's licence, and no
tracker numbers in code, comments, `.env.example` or READMEs (they say why, not when)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TRACKER_NUMBER = re.compile(r"\bissues? ?#?\d+", re.IGNORECASE)
CHECKED = ("*.py", "*.md", ".env.example", "Dockerfile", "*.toml", "*.yml", "*.yaml", "*.sh")


def tracked_files() -> list[Path]:
    """The project's files of the kinds above, outside hidden folders (.git, .venv, caches)."""
    return [
        path
        for pattern in CHECKED
        for path in ROOT.rglob(pattern)
        if path.is_file()
        and not any(part.startswith(".") for part in path.relative_to(ROOT).parent.parts)
    ]


def test_no_tracker_numbers_in_code_comments_or_docs() -> None:
    files = tracked_files()
    assert any(f.name == ".env.example" for f in files)
    found = [
        f"{path.relative_to(ROOT)}:{n}: {line.strip()}"
        for path in files
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if TRACKER_NUMBER.search(line)
    ]
    assert not found, "\n".join(found)


def test_license_matches_pyproject() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert project["license"] == {"text": "MIT"}
    text = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert text.startswith("MIT License\n")
    assert "Copyright (c) 2026 threadbridge contributors" in text
    assert "Permission is hereby granted, free of charge" in text
