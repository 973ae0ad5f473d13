"""The shipped Grafana dashboard queries only series the bridge exposes: a renamed metric must
fail here, not as an empty panel in an operator's Grafana."""

from __future__ import annotations

import json
import re
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from bridge.metrics import Metrics

DASHBOARD = Path(__file__).parent.parent / "deploy" / "grafana" / "threadbridge.json"
SERIES = re.compile(r"\bthreadbridge_[a-z_]+")


def exposed_series() -> set[str]:
    """Every sample name /metrics can carry, labelled counters included once touched."""
    metrics = Metrics()
    metrics.reply("done")
    metrics.call("slack", "chat.update")
    metrics.rate_limited("slack", "chat.update")
    metrics.budget_wait("slack:T1")
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
