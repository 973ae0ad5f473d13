"""The Slack app manifest the deployment is meant to use, read for its bot scopes.

It ships inside the package (`slack-manifest.yml` here links to deploy/slack-manifest.yml, the
copy users create the app from; the wheel holds the file itself), so an installed wheel or the
Docker image reads the same list a checkout does.
"""

from __future__ import annotations

from importlib.resources import files
from importlib.resources.abc import Traversable

MANIFEST: Traversable = files("adapters.slack") / "slack-manifest.yml"


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


def load_bot_scopes(manifest: Traversable = MANIFEST) -> list[str]:
    """The manifest's bot scopes."""
    return bot_scopes(manifest.read_text(encoding="utf-8"))
