"""`threadbridge feedback list [--since 7d|2025-01-31|2025-01-31T09:00Z]`: the thumbs up/down
people gave replies.

One line per kept press, oldest first: time (UTC), platform, thread, reply id (the post the
reply answers), provider, outcome, user hash. Presses live as long as their thread and go when
it is forgotten. `--since` takes an ISO date or time (UTC unless it names a zone) or an age
(`7d`, `12h`, `30m`); the default is the last 7 days.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import time
from datetime import UTC, datetime

from bridge.config import load_settings
from bridge.contracts import ThreadKey
from bridge.feedback import Rating, Ratings
from bridge.keys import Keys
from bridge.plugins import adapter_names
from bridge.redis_conn import connect
from bridge.store import Store

DEFAULT_SINCE = "7d"
_AGE = re.compile(r"(\d+)([dhm])")
_UNIT = {"d": 86400, "h": 3600, "m": 60}


def since(value: str, now: float | None = None) -> float:
    """The moment `value` names, as a Unix time: an age before `now`, or an ISO date/time."""
    age = _AGE.fullmatch(value.strip())
    if age is not None:
        return (time.time() if now is None else now) - int(age.group(1)) * _UNIT[age.group(2)]
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{value!r} is neither an ISO date nor an age like 7d, 12h or 30m"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="threadbridge feedback")
    sub = parser.add_subparsers(dest="action", required=True)
    listing = sub.add_parser("list", help="show the feedback given to replies")
    listing.add_argument(
        "--since",
        type=since,
        default=since(DEFAULT_SINCE),
        help="an ISO date or time (UTC), or an age like 7d, 12h, 30m (default: 7d)",
    )
    args = parser.parse_args(argv)
    return asyncio.run(_list(args.since))


async def _list(start: float) -> int:
    settings = load_settings()
    handle = await connect(settings)
    try:
        store = Store(handle.client, Keys(settings.bridge_redis_prefix), settings.thread_ttl)
        ratings = await Ratings(handle.client, store).since(start, adapter_names())
    finally:
        await handle.aclose()
    if ratings:
        print("time  platform  thread  reply  provider  outcome  user")
    for rating in ratings:
        print(line(rating))
    print(f"{len(ratings)} feedback press(es)")
    return 0


def line(rating: Rating) -> str:
    at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(rating.at))
    platform = ThreadKey.parse(rating.thread).platform
    return (
        f"{at}  {platform}  {rating.thread}  {rating.reply}  {rating.provider}  "
        f"{rating.outcome}  {rating.user}"
    )
