"""The `threadbridge` command: `run` serves; other subcommands (e.g. `demo`) are plugins
registered under the `threadbridge.commands` entry points."""

from __future__ import annotations

import argparse
import asyncio
import inspect
import logging
import os
import signal
import sys

from bridge import logs
from bridge.config import ConfigError, load_settings
from bridge.contracts.state import provide
from bridge.metrics import version
from bridge.plugin_state import opened
from bridge.plugins import (
    Command,
    Unavailable,
    adapter_plugins,
    command_names,
    load_command,
    messengers,
    provider_settings,
)
from bridge.runtime import Runtime

RUN_HELP = """Serve: connect the configured messengers and answer their threads.

Settings come from the environment and `.env` (see .env.example); `threadbridge doctor` checks
them first. Runs until SIGTERM or SIGINT, then lets running replies finish for
BRIDGE_SHUTDOWN_SECONDS and hands the rest to another replica."""


async def serve_forever() -> None:
    """Run until SIGTERM or SIGINT, then hand over running replies and exit."""
    settings = load_settings()
    missing: list[str] = []
    found = adapter_plugins(missing)
    own = provider_settings(settings).values()
    secrets = logs.secrets_of(settings, *(p.settings for p in found), *own)
    logs.configure(settings.bridge_log_level, settings.bridge_log_format, secrets)
    runtime = Runtime(settings, messengers(found, missing))
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stopping.set)
    try:
        await runtime.start()
        await stopping.wait()
        logging.getLogger(__name__).info("stopping: letting running replies finish")
    finally:
        await runtime.stop(grace=settings.bridge_shutdown_seconds)


def describe(command: Command) -> str:
    """A command's help: its module's docstring (each command module opens with what it does)."""
    if isinstance(command, Unavailable):
        return command.reason
    module = inspect.getmodule(command)
    return inspect.cleandoc((module.__doc__ if module else None) or command.__doc__ or "")


def summary(description: str) -> str:
    """The first sentence of a description, without the "`threadbridge x`: " it may open with."""
    first = description.split("\n\n")[0].replace("\n", " ")
    if first.startswith("`threadbridge") and "`: " in first:
        first = first.split("`: ", 1)[1]
    return first.split(". ")[0].rstrip(".")


def parser() -> argparse.ArgumentParser:
    """`run` and one subcommand per `threadbridge.commands` entry point, each with its help."""
    top = argparse.ArgumentParser(
        prog="threadbridge",
        description="Bridge chat threads on any installed messenger to LLM conversations.",
    )
    top.add_argument("--version", action="version", version=f"threadbridge {version()}")
    sub = top.add_subparsers(dest="command", required=True, metavar="command")
    _add(sub, "run", RUN_HELP)
    for name in command_names():
        command = _add(sub, name, describe(load_command(name)))
        command.add_argument("args", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    return top


def _add(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], name: str, text: str
) -> argparse.ArgumentParser:
    return sub.add_parser(
        name,
        help=summary(text),
        description=text,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )


def command_args(argv: list[str] | None, command: str) -> list[str]:
    """What follows the command's name, in the order given (argparse would put the values of
    options it does not know, `--platform teams`, before those options)."""
    given = sys.argv[1:] if argv is None else argv
    return given[given.index(command) + 1 :]


def main(argv: list[str] | None = None) -> int:
    cli = parser()
    args, extra = cli.parse_known_args(argv)
    if args.command == "run" and extra:
        cli.error(f"unrecognized arguments: {' '.join(extra)}")
    logs.configure(
        os.environ.get("BRIDGE_LOG_LEVEL", "INFO"), os.environ.get("BRIDGE_LOG_FORMAT", "plain")
    )
    try:
        if args.command == "run":
            asyncio.run(serve_forever())
            return 0
        provide(opened)
        return load_command(args.command)(command_args(argv, args.command))
    except ConfigError as exc:
        print(f"threadbridge: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
