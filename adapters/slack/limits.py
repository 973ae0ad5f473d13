"""Slack's rate limits as the bridge paces them: per method per workspace, posting per channel.

Slack counts every Web API method separately, per workspace and app (docs.slack.dev/apis/
web-api/rate-limits): `chat.update` Tier 3 (~50/min), `chat.appendStream` Tier 4 (~100/min),
`chat.startStream` and `chat.stopStream` Tier 2 (~20/min); `chat.postMessage` about one per
second per channel plus a workspace-wide cap of several hundred a minute. Each is its own
Redis budget, shared by every reply and replica, spent as the tiers allow it: their "occasional
bursts" at once (Slack publishes no number; the bursts below are the ones the emulator holds to),
then a little under the sustained rate.
"""

from __future__ import annotations

from dataclasses import dataclass

from adapters.slack.settings import SlackSettings
from bridge.contracts import Allowance, EditRate, Priority, join_ids

RATE_MARGIN = 0.95
"""Refill a little under each sustained rate: a budget at the limit itself still meets 429s when
a request reaches Slack a moment sooner than the one before it."""
UPDATE_BURST = 5.0
STREAM_BURST = 5.0
APPEND_BURST = 10.0
POST_PER_CHANNEL_BURST = 3.0
"""Bursts: Tier 2 "occasional bursts", Tier 3 "sporadic bursts", Tier 4 "generous burst
behavior", posting "short bursts >1 allowed" (docs.slack.dev/apis/web-api/rate-limits).
Completing many replies at once depends on them: a burst spent at once lets five replies end
together instead of one every 1.3 s."""
POSTS_PER_WORKSPACE_PER_MINUTE = 500.0
POSTS_PER_WORKSPACE_BURST = 100.0
"""Slack documents "several hundred" posts a minute per workspace, without a number; posting
is otherwise limited per channel, so a burst of first texts in many channels goes at once."""

UPDATE = "chat.update"
POST = "chat.postMessage"
START = "chat.startStream"
APPEND = "chat.appendStream"
STOP = "chat.stopStream"
SET_STATUS = "assistant.threads.setStatus"
SET_TITLE = "assistant.threads.setTitle"
SET_PROMPTS = "assistant.threads.setSuggestedPrompts"
"""AI-app threads: setStatus is paced like posting, one a second per channel ("Special rate
limits apply"; Slack's SDKs pace it as chat.postMessage), setTitle and setSuggestedPrompts are
Tier 4 per workspace (their method references)."""
OWN_SCOPE = Priority.FINAL
"""The priority of those calls: each method is a scope of its own that no text waits on, so
they may spend its whole burst (the status priority would leave all but one permit of it to
texts that never come, and a status would wait for a full bucket)."""
ASSISTANT_PER_MINUTE = 100.0
ASSISTANT_BURST = 10.0
DELETE = "chat.delete"
"""Only to take back a message a lost lease left unrecorded: rare, on no shared budget (it
may be called while Redis is out of reach), its 429s only waited out."""


def _rate(per_minute: float, burst: float) -> EditRate:
    return EditRate(per_second=per_minute / 60.0 * RATE_MARGIN, burst=burst)


@dataclass(frozen=True, slots=True)
class SlackLimits:
    """The rate of every scope a reply writes to."""

    methods: dict[str, EditRate]
    post_per_channel: EditRate

    @classmethod
    def from_settings(cls, settings: SlackSettings) -> SlackLimits:
        return cls(
            methods={
                UPDATE: _rate(settings.edits_per_minute, UPDATE_BURST),
                START: _rate(settings.stream_starts_per_minute, STREAM_BURST),
                APPEND: _rate(settings.stream_appends_per_minute, APPEND_BURST),
                STOP: _rate(settings.stream_stops_per_minute, STREAM_BURST),
                POST: _rate(POSTS_PER_WORKSPACE_PER_MINUTE, POSTS_PER_WORKSPACE_BURST),
                SET_TITLE: _rate(ASSISTANT_PER_MINUTE, ASSISTANT_BURST),
                SET_PROMPTS: _rate(ASSISTANT_PER_MINUTE, ASSISTANT_BURST),
            },
            post_per_channel=_rate(settings.posts_per_channel_per_minute, POST_PER_CHANNEL_BURST),
        )

    def method(self, team: str, method: str) -> Allowance:
        """The workspace-wide scope of `method`."""
        return Allowance(join_ids("slack", team, method), self.methods[method], method)

    def channel_posts(self, team: str, channel: str) -> Allowance:
        return Allowance(join_ids("slack", team, channel, POST), self.post_per_channel, POST)

    def status(self, team: str, channel: str) -> Allowance:
        """setStatus in one channel (a DM's assistant thread), paced as posting there."""
        scope = join_ids("slack", team, channel, SET_STATUS)
        return Allowance(scope, self.post_per_channel, SET_STATUS)

    def posting(self, team: str, channel: str) -> tuple[Allowance, ...]:
        """A post counts on the workspace's cap (asked first: it is plentiful) and the channel's."""
        return (self.method(team, POST), self.channel_posts(team, channel))
