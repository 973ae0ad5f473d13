"""The Slack app manifest the deployment is meant to use, read for its bot scopes."""

from __future__ import annotations

from pathlib import Path

MANIFEST = Path(__file__).resolve().parents[2] / "deploy" / "slack-manifest.yml"


def bot_scopes(text: str) -> list[str]:
    """The list under `oauth_config: scopes: bot:` (enough YAML for our own manifest)."""
    path: list[tuple[int, str]] = []
    scopes: list[str] = []
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].rstrip()
        if not line.strip():
            continue
        indent = len(line) - len(line.lstrip())
        item = line.strip()
        while path and path[-1][0] >= indent and not item.startswith("- "):
            path.pop()
        keys = [key for _, key in path]
        if item.startswith("- "):
            if keys == ["oauth_config", "scopes", "bot"]:
                scopes.append(item[2:].strip())
            continue
        if item.endswith(":"):
            path.append((indent, item[:-1].strip()))
    return scopes


def load_bot_scopes(path: Path = MANIFEST) -> list[str] | None:
    """The manifest's bot scopes, or None when the file is not there (an installed wheel)."""
    if not path.exists():
        return None
    return bot_scopes(path.read_text())
