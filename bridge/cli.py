"""The `threadbridge` command: `run` serves; other subcommands (e.g. `demo`) are plugins
registered under the `threadbridge.commands` entry points."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys

from bridge import logs
from bridge.config import ConfigError, load_settings
from bridge.plugins import command_names, load_command
from bridge.runtime import Runtime


async def serve_forever() -> None:
    """Run until SIGTERM or SIGINT, then hand over running replies and exit."""
    settings = load_settings()
    logs.configure(settings.bridge_log_level, settings.bridge_log_format, logs.secrets_of(settings))
    runtime = Runtime(settings)
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="threadbridge")
    parser.add_argument("command", choices=["run", *command_names()])
    args, rest = parser.parse_known_args(argv)
    logs.configure(
        os.environ.get("BRIDGE_LOG_LEVEL", "INFO"), os.environ.get("BRIDGE_LOG_FORMAT", "plain")
    )
    try:
        if args.command == "run":
            asyncio.run(serve_forever())
            return 0
        return load_command(args.command)(rest)
    except ConfigError as exc:
        print(f"threadbridge: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
