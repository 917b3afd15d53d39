"""Every PromQL expression of every dashboard and alert rule, against a real Prometheus that
scrapes real exporters (see fleet.py): each parses, each returns data, and every alert fires
on the fleet's real readings. Grafana is not needed: its variables are substituted here the
way Grafana substitutes them."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
import yaml

from dc_overview.grafana.provisioning import render_dashboards
from dc_overview.prometheus.rules import render_rules
from tests.grafana.fleet import (
    LIVE_THRESHOLDS,
    WEBHOOK_TOKEN,
    Fleet,
    running_fleet,
    xid_event,
)
from tests.grafana.promql import panel_queries, selectors, substitute, variables

pytestmark = pytest.mark.integration

DASHBOARDS = render_dashboards()
RULES = {
    rule["alert"]: rule["expr"]
    for text in render_rules(LIVE_THRESHOLDS).values()
    for group in yaml.safe_load(text)["groups"]
    for rule in group["rules"]
}
# Where each alert must fire (pending or firing) on the fleet's real readings.
EXPECTED_ALERTS = {
    "GpuCoreTemperatureHigh": "gpu-3090",  # 32 °C in the capture; the live limit is 30
    "GpuHotspotTemperatureHigh": "gpu-3090",  # 82 °C from the synthetic BAR0; limit 80
    "GpuVramTemperatureHigh": "gpu-3090",  # 83 °C from the synthetic BAR0; limit 80
    "GpuThermalThrottling": "gpu-h200",
    "GpuXidError": "gpu-h200",
    "GpuInErrorState": "gpu-3090",  # the GPU on PCI the driver lost
    "GpuMissing": "gpu-3090",
    "GpuNotReadable": "gpu-a100",  # the capture: 4 attached, 1 described
    "NodeDown": "dead-server",
    "ExporterDown": "dead-server",
    "GpuExporterNotCollecting": "gpu-broken",
    "DiskAlmostFull": "gpu-3090",  # the live limit: less than 99 % free
}


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fleet]:
    with running_fleet(tmp_path_factory.mktemp("fleet")) as running:
        running.wait_for(
            lambda: running.query('min(count_over_time(up{job="dc-exporter"}[1m])) >= 6'),
            60,
            "six scrapes of every exporter",
        )
        xid_event(running)
        running.wait_for(
            lambda: running.query('DCGM_FI_DEV_XID_ERRORS{instance="gpu-h200"} == 79'),
            30,
            "the XID error to be scraped",
        )
        yield running


def variable_values(fleet: Fleet, dashboard: dict) -> dict[str, list[str]]:
    """Each variable's values, in order (a later query may use an earlier variable)."""
    values: dict[str, list[str]] = {}
    for name, expr, label in variables(dashboard):
        series = fleet.query(f"group by ({label}) ({substitute(expr, values)})")
        values[name] = sorted(s["metric"][label] for s in series if s["metric"].get(label))
        assert values[name], f"variable {name} has no values: {expr}"
    return values


@pytest.mark.parametrize("name", sorted(DASHBOARDS))
def test_every_dashboard_query_returns_data(fleet: Fleet, name: str) -> None:
    dashboard = json.loads(DASHBOARDS[name])
    values = variable_values(fleet, dashboard)
    empty = []
    for where, expr in panel_queries(dashboard):
        concrete = substitute(expr, values)
        if not fleet.query(concrete):
            empty.append(f"{where}: {concrete}")
        for selector in selectors(concrete):
            if not fleet.query(selector):
                empty.append(f"{where}: selector {selector} matches nothing")
    assert not empty, "\n".join(empty)


def test_the_fleet_dashboard_sees_every_gpu(fleet: Fleet) -> None:
    dashboard = json.loads(DASHBOARDS["dc-overview-fleet.json"])
    values = variable_values(fleet, dashboard)
    assert "gpu-broken" in values["server"] and "dead-server" in values["server"]
    queries = dict(panel_queries(dashboard))
    table = queries["Every GPU / A"]
    rows = {
        (s["metric"]["instance"], s["metric"]["gpu"])
        for s in fleet.query(substitute(table, values))
    }
    assert rows == {
        ("gpu-3090", "0"),
        ("gpu-a100", "0"),
        ("gpu-a5000", "0"),
        ("gpu-a5000", "1"),
        ("gpu-h200", "0"),
    }


def test_rules_are_loaded_and_evaluate_without_error(fleet: Fleet) -> None:
    def evaluated() -> list[dict]:
        rules = [r for g in fleet.api("rules")["groups"] for r in g["rules"]]
        done = all(r.get("lastEvaluation", "").startswith("2") for r in rules)
        return rules if done and len(rules) == len(RULES) else []

    rules = fleet.wait_for(evaluated, 45, "every rule group to be evaluated")
    assert {r["name"] for r in rules} == set(RULES)
    for rule in rules:
        assert rule["health"] == "ok", f"{rule['name']}: {rule.get('lastError')}"


@pytest.mark.parametrize("alert", sorted(RULES))
def test_rule_expression_parses_and_its_selectors_return_data(fleet: Fleet, alert: str) -> None:
    expr = RULES[alert]
    fleet.query(expr)  # status "success": Prometheus parsed and ran it
    for selector in selectors(expr):
        assert fleet.query(selector), f"{alert}: {selector} matches nothing"


def test_every_alert_fires_on_the_fleet(fleet: Fleet) -> None:
    def active() -> dict[str, set[str]]:
        found: dict[str, set[str]] = {}
        for alert in fleet.api("alerts")["alerts"]:
            labels = alert["labels"]
            found.setdefault(labels["alertname"], set()).add(labels.get("instance", ""))
        return found if set(EXPECTED_ALERTS) <= set(found) else {}

    found = fleet.wait_for(active, 60, f"alerts {sorted(EXPECTED_ALERTS)}")
    for alert, instance in EXPECTED_ALERTS.items():
        assert instance in found[alert], f"{alert}: {found[alert]}"
    assert found["GpuCoreTemperatureHigh"] == {"gpu-3090"}  # the others are below 30 °C
    assert "gpu-h200" not in found.get("GpuMissing", set())
    xid = [a for a in fleet.api("alerts")["alerts"] if a["labels"]["alertname"] == "GpuXidError"]
    assert xid[0]["state"] == "firing"  # no `for`: at once
    assert xid[0]["annotations"]["summary"] == "GPU 0 on gpu-h200 reported XID 79"


def test_alertmanager_delivers_the_alert_to_the_receiver(fleet: Fleet) -> None:
    """Prometheus -> Alertmanager (DC Overview's config) -> webhook, token read from its file."""

    def delivered() -> list[tuple[str, dict]]:
        return [
            (auth, body)
            for auth, body in fleet.webhook.received
            if any(a["labels"]["alertname"] == "GpuXidError" for a in body["alerts"])
        ]

    auth, body = fleet.wait_for(delivered, 60, "the XID alert at the webhook")[0]
    assert auth == f"Bearer {WEBHOOK_TOKEN}"
    assert body["receiver"] == "dc-overview" and body["status"] == "firing"
    assert body["groupLabels"] == {"alertname": "GpuXidError", "instance": "gpu-h200"}
    assert body["commonAnnotations"]["summary"] == "GPU 0 on gpu-h200 reported XID 79"


def test_prometheus_loaded_the_rendered_files(fleet: Fleet) -> None:
    config = fleet.api("status/config")["yaml"]
    assert "/rules/*.yml" in config
    assert "alertmanagers:" in config
    targets = fleet.api("targets")["activeTargets"]
    jobs = {t["labels"]["job"] for t in targets}
    assert {"node", "dc-exporter", "vastai"} <= jobs
