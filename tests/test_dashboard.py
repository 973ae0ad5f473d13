"""The shipped Grafana dashboard queries only series the bridge exposes: a renamed metric must
fail here, not as an empty panel in an operator's Grafana."""

from __future__ import annotations

import json
import re
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families
from yarl import URL

from adapters.discord.client import route_name
from adapters.discord.surface import EDIT, allowances
from bridge.contracts import Allowance, EditRate
from bridge.metrics import Metrics

DASHBOARD = Path(__file__).parent.parent / "deploy" / "grafana" / "threadbridge.json"
SERIES = re.compile(r"\bthreadbridge_[a-z_]+")


def exposed_series() -> set[str]:
    """Every sample name /metrics can carry, labelled counters included once touched."""
    metrics = Metrics()
    metrics.reply("done")
    metrics.call("slack", "chat.update")
    metrics.rate_limited("slack", "chat.update")
    metrics.budget_wait(Allowance("slack:T1:chat.update", EditRate(1.0, 1.0), "chat.update"))
    for histogram in (metrics.post_to_first_text, metrics.final_lag, metrics.reply_duration):
        histogram.labels(platform="slack").observe(1.0)
    metrics.first_token_to_first_text.labels(platform="slack").observe(1.0)
    metrics.provider_first_token.labels(provider="openai").observe(1.0)
    metrics.provider_error("openai", "500")
    metrics.inc("dead_letters")
    text = metrics.exposition().decode()
    return {s.name for f in text_string_to_metric_families(text) for s in f.samples}


def test_every_dashboard_query_names_an_exposed_series() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    exprs = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    named = {name for expr in exprs for name in SERIES.findall(expr)}
    assert named, "the dashboard queries nothing"
    assert named <= exposed_series(), sorted(named - exposed_series())


def test_panels_do_not_overlap() -> None:
    panels = json.loads(DASHBOARD.read_text())["panels"]
    cells = set()
    for panel in panels:
        g = panel["gridPos"]
        for x in range(g["x"], g["x"] + g["w"]):
            for y in range(g["y"], g["y"] + g["h"]):
                assert (x, y) not in cells, panel["title"]
                cells.add((x, y))


def test_latency_is_shown_per_platform_and_budget_waits_per_method() -> None:
    """Operators compare messengers and see which limit makes replies wait: the latency panels
    group by platform (the first token by provider), budget waits by method."""
    exprs = [t["expr"] for p in json.loads(DASHBOARD.read_text())["panels"] for t in p["targets"]]
    grouped = {
        "post_to_first_text": "platform",
        "final_lag": "platform",
        "provider_first_token": "provider",
        "budget_waits": "method",
    }
    for series, label in grouped.items():
        queries = [e for e in exprs if f"threadbridge_{series}_" in e]
        assert queries, series
        for query in queries:
            assert re.search(rf"by \([^)]*\b{label}\b", query), query


def test_a_discord_budget_wait_names_its_route_as_its_calls_do() -> None:
    """One spelling per route on the dashboard: `{id}` for every id, in waits as in calls."""
    bucket = allowances(None, EDIT, "123")[1]
    edit = URL("https://discord.com/api/v10/channels/123/messages/456")
    assert bucket.method == route_name("PATCH", edit) == "PATCH /channels/{id}/messages/{id}"
