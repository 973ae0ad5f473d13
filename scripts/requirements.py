"""Print threadbridge's requirements with the extras named (default: all), one a line, from
pyproject.toml alone: the Docker image installs them in a layer that changes only when they do.

An extra that names others (`all = ["threadbridge[slack,discord,embedded]"]`) is expanded.
"""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path
from typing import Any

SELF = re.compile(r"threadbridge\[([^\]]+)\]")


def requirements(project: dict[str, Any], extras: list[str]) -> list[str]:
    """The core's dependencies, then each extra's, each once, in order."""
    found = list(project["dependencies"])
    todo, seen = list(extras), set()
    while todo:
        extra = todo.pop(0)
        if extra in seen:
            continue
        seen.add(extra)
        for line in project["optional-dependencies"][extra]:
            named = SELF.fullmatch(line.strip())
            if named:
                todo.extend(e.strip() for e in named.group(1).split(","))
            elif line not in found:
                found.append(line)
    return found


def main(argv: list[str]) -> int:
    pyproject = Path(__file__).resolve().parent.parent / "pyproject.toml"
    project = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]
    print("\n".join(requirements(project, argv or ["all"])))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
