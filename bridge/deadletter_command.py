"""`threadbridge dead-letters list|replay [ID|--all]`: see and re-answer posts that were given up.

`list` prints one line per dead letter (id, time, thread, attempts, reason); `replay ID` or
`replay --all` puts the posts back into the inbox, where a running bridge answers them.
"""

from __future__ import annotations

import argparse
import asyncio
import time

from bridge.config import load_settings
from bridge.deadletters import DeadLetter, DeadLetters, ThreadForgotten
from bridge.inbox import Inbox
from bridge.keys import Keys
from bridge.redis_conn import connect


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="threadbridge dead-letters")
    sub = parser.add_subparsers(dest="action", required=True)
    sub.add_parser("list", help="show the posts that could not be answered")
    replay = sub.add_parser("replay", help="answer dead letters again")
    which = replay.add_mutually_exclusive_group(required=True)
    which.add_argument("id", nargs="?", help="the dead letter's id, as `list` shows it")
    which.add_argument("--all", action="store_true", help="replay every dead letter")
    args = parser.parse_args(argv)
    return asyncio.run(_run(args.action, getattr(args, "id", None), getattr(args, "all", False)))


async def _run(action: str, entry_id: str | None, everything: bool) -> int:
    settings = load_settings()
    handle = await connect(settings)
    try:
        keys = Keys(settings.bridge_redis_prefix)
        dead = DeadLetters(handle.client, keys, settings.thread_ttl)
        if action == "list":
            letters = await dead.list()
            for letter in letters:
                print(_line(letter))
            print(f"{len(letters)} dead letter(s)")
            return 0
        inbox = Inbox(handle.client, keys, settings.bridge_inbox_shards)
        await inbox.ensure_groups()
        return await _replay(dead, inbox, entry_id, everything)
    finally:
        await handle.aclose()


async def _replay(dead: DeadLetters, inbox: Inbox, entry_id: str | None, everything: bool) -> int:
    if everything:
        letters = await dead.list()
    else:
        assert entry_id is not None
        found = await dead.get(entry_id)
        if found is None:
            print(f"no dead letter {entry_id}")
            return 1
        letters = [found]
    refused = 0
    for letter in letters:
        try:
            await dead.replay(letter, inbox)
        except ThreadForgotten:
            refused += 1
            print(
                f"not replayed {letter.id}: its thread was forgotten (/threadbridge forget), "
                "so its post is not answered again; the dead letter is deleted"
            )
            continue
        print(f"replayed {letter.id} ({letter.post.thread}, post {letter.post.message_id})")
    return 1 if refused else 0


def _line(letter: DeadLetter) -> str:
    at = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(letter.at))
    return (
        f"{letter.id}  {at}Z  {letter.post.thread}  post {letter.post.message_id}  "
        f"attempts {letter.attempts}  {letter.reason}"
    )
