"""How far behind the Discord gateway connection runs, read from discord.py's heartbeats.

discord.py sends a heartbeat every interval Discord names (41.25 s) and notes when the ACK was
read; `latency` is how long the last one took. An ACK is read late when the connection or the
event loop falls behind (discord.py warns "Can't keep up … websocket is Ns behind" past 10 s),
so that time, or the age of a heartbeat still unanswered, says how late events arrive.
"""

from __future__ import annotations

import math
import time

import discord

RACE = 1.0
"""Seconds by which the newest ACK may precede the newest heartbeat's send time and still be
its answer: discord.py notes the send in its keep-alive thread only after the event loop has
sent it, so a prompt ACK (a busy GIL, a gateway on loopback) is often read before that."""


def lateness(latency: float, last_send: float, last_ack: float, now: float) -> float:
    """A heartbeat still unanswered: its age; else the last one's round trip (0 if none yet).

    An ACK read just before its heartbeat's send was noted answered that heartbeat: then the
    round trip was short, and discord.py's `latency` (measured from the send before) is not it.
    """
    if last_send - last_ack > RACE:
        return max(0.0, now - last_send)
    if last_send > last_ack:
        return 0.0
    return latency if math.isfinite(latency) else 0.0


def gateway_lateness(client: discord.Client | None) -> float:
    """How far behind `client`'s gateway connection runs now (0 while it is not connected).

    discord.py keeps the send and ACK times in its keep-alive handler only (no public view
    of a heartbeat still in flight)."""
    ws = client.ws if client is not None else None
    beat = ws._keep_alive if ws is not None else None
    if beat is None:
        return 0.0
    return lateness(beat.latency, beat._last_send, beat._last_ack, time.perf_counter())
