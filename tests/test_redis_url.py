"""REDIS_URL forms: plain, Sentinel and Cluster URLs parse into what the client needs."""

from __future__ import annotations

import pytest

from bridge.redis_conn import Target, parse_target


def test_plain_urls_stay_with_redis_py() -> None:
    assert parse_target("redis://:pw@host:6379/0") is None
    assert parse_target("rediss://host:6380") is None


def test_sentinel_url() -> None:
    target = parse_target("redis+sentinel://:s%40cret@h1:26379,h2:26380,h3/mymaster/2")
    assert target == Target(
        "sentinel", (("h1", 26379), ("h2", 26380), ("h3", 26379)), None, "s@cret", "mymaster", 2
    )
    assert parse_target("rediss+sentinel://h1/m") == Target(
        "sentinel", (("h1", 26379),), service="m", tls=True
    )


def test_cluster_url() -> None:
    target = parse_target("redis+cluster://user:pw@10.0.0.1:7000,[::1]:7001,node3")
    assert target == Target(
        "cluster", (("10.0.0.1", 7000), ("::1", 7001), ("node3", 6379)), "user", "pw"
    )


@pytest.mark.parametrize(
    "url", ["redis+sentinel://h1:26379", "redis+sentinel:///m", "redis+cluster://"]
)
def test_incomplete_urls_are_refused(url: str) -> None:
    with pytest.raises(ValueError):
        parse_target(url)
