"""The best schedule under the emulators' budgets, on loads small enough to check by hand."""

from __future__ import annotations

import pytest

from bench.schedule import (
    DiscordBudgets,
    FixedWindow,
    Load,
    SlackBudgets,
    TokenBucket,
    discord,
    slack,
)


def together(n: int, first: float = 0.5, done: float = 4.0) -> list[Load]:
    """`n` threads posted at 0 whose first tokens and last tokens come at the same moments."""
    return [Load(posted=0.0, first_token=first, done=done) for _ in range(n)]


def test_a_token_bucket_allows_its_burst_then_one_per_interval() -> None:
    bucket = TokenBucket(per_second=1.0, burst=3.0)
    for _ in range(3):
        assert bucket.allows(10.0)
        bucket.take(10.0)
    assert not bucket.allows(10.0)
    assert bucket.next_at(10.0) == pytest.approx(11.0)


def test_a_fixed_window_opens_with_its_first_request() -> None:
    window = FixedWindow(limit=2, length=1.0)
    window.take(5.0)
    window.take(5.2)
    assert not window.allows(5.9)
    assert window.next_at(5.9) == pytest.approx(6.0)
    window.take(6.3)
    assert window.resets_at == pytest.approx(7.3)


def test_five_slack_threads_all_stream_and_finish_at_the_last_token() -> None:
    """Tier 2 burst 5: five streams start at once; five final appends fit Tier 4's burst."""
    best = slack(together(5))
    assert [b.first_text for b in best] == [0.5] * 5
    assert [b.final for b in best] == [4.0] * 5


def test_slack_threads_beyond_the_stream_burst_post_and_finish_by_chat_update() -> None:
    """25 at once: the 1st..5th stream, the 6th..25th post their first text (nothing waits for
    it); of their 20 finals, Tier 3's burst goes at once, then one every 1.2 s (50/min)."""
    best = slack(together(25))
    assert all(b.first_text == 0.5 for b in best)
    lags = sorted(b.final - 4.0 for b in best)
    assert lags[:10] == [0.0] * 10
    assert lags[10:] == pytest.approx([1.2 * k for k in range(1, 16)])


def test_twenty_slack_threads_need_twelve_seconds_after_the_last_token() -> None:
    """The benchmark's Slack load: 5 streams, 15 posts; 5 updates at once, then 10 × 1.2 s."""
    best = slack(together(20))
    assert max(b.final for b in best) - 4.0 == pytest.approx(12.0)


def test_slack_streams_start_again_as_tier_2_refills() -> None:
    """First tokens one Tier 2 interval (3 s) apart: every reply can stream."""
    loads = [Load(0.0, first_token=3.0 * i, done=3.0 * i + 4.0) for i in range(25)]
    best = slack(loads)
    assert [b.final - load.done for b, load in zip(best, loads, strict=True)] == [0.0] * 25


def test_slack_without_streams_finishes_every_reply_by_chat_update() -> None:
    best = slack(together(6), SlackBudgets(streams=False))
    assert sorted(b.final - 4.0 for b in best) == pytest.approx([0, 0, 0, 0, 0, 1.2])


def test_slack_posting_is_limited_per_channel() -> None:
    """Four replies in one channel: the channel's burst of 3 posts, the 4th waits for a
    token (1/s); none can stream when streams are off."""
    loads = [Load(0.0, 0.5, 4.0, channel="C1") for _ in range(4)]
    best = slack(loads, SlackBudgets(streams=False))
    assert sorted(b.first_text for b in best) == pytest.approx([0.5, 0.5, 0.5, 1.5])


def test_a_reply_done_before_its_first_text_is_written_once() -> None:
    best = slack([Load(0.0, first_token=0.5, done=0.2)])
    assert best[0].final == best[0].first_text == 0.5


def test_discord_100_new_threads_need_four_global_windows_for_their_first_texts() -> None:
    """100 thread creations and 100 first texts are 200 requests at 50 per one-second window:
    creations fill the windows opened at 0 s and 1 s, first texts those at 2 s and 3 s."""
    best = discord(together(100, done=10.0))
    first = sorted(b.first_text for b in best)
    assert first[:50] == [2.0] * 50
    assert first[50:] == [3.0] * 50


def test_discord_without_the_global_limit_shows_every_first_text_at_its_first_token() -> None:
    best = discord(together(100, done=10.0), DiscordBudgets(global_per_second=None))
    assert all(b.first_text == 0.5 for b in best)
    assert all(b.final == 10.0 for b in best)


def test_discord_finals_come_after_first_texts_on_the_global_limit() -> None:
    """Ten replies ending as 100 new threads start: the first texts go first, the finals in
    the next window with room."""
    loads = together(100, done=60.0) + [Load(-60.0, -59.0, 2.5) for _ in range(10)]
    best = discord(loads, DiscordBudgets(global_per_second=50))
    assert max(b.first_text for b in best[:100]) == 3.0
    assert [b.final for b in best[100:]] == [4.0] * 10


def test_discord_pages_beyond_the_first_are_posted_on_the_thread_bucket() -> None:
    """7 pages: the first text and 4 more posts fill the thread's 5-per-5-s create bucket,
    the last 2 pages wait for it to open again."""
    loads = [Load(0.0, 0.5, 1.0, pages=7)]
    best = discord(loads, DiscordBudgets(global_per_second=None, new_threads=False))
    assert best[0].final == pytest.approx(5.5)


def test_the_floor_asks_the_provider_at_the_post_not_when_the_bridge_did() -> None:
    """A bridge that asked the provider 2 s after the post (it opened a thread first) does not
    move the floor: the floor's first token is the post plus the provider's own 0.5 s, and
    the answer takes as long as the provider took."""
    from bench.messenger import Observed
    from bench.metrics import best_latencies
    from bench.platforms import DiscordMessenger
    from bench.provider import Generation

    seen = [Observed(100.0, "x", 1, 1, 103.0, 103.0, 106.0)]
    run = Generation("x", 1, first_token_at=102.5, done_at=105.5, asked_at=102.0)
    best = best_latencies(DiscordMessenger(global_per_second=50), seen, [run])
    assert best["post_to_first_text_s"]["p50"] == pytest.approx(0.5)
    assert best["final_lag_s"]["p50"] == pytest.approx(0.0)
