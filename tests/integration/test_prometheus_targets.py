"""Real Prometheus, node_exporter and gunicorn: a server added through the API is scraped `up`
without a Prometheus restart, and disappears when removed."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from dc_overview.inventory.accounts import AccountService
from dc_overview.inventory.db import Database
from tests.conftest import settings_for_prometheus
from tests.support.processes import Daemon, free_port, require_binary, wait_until
from tests.support.stack import LiveServer, start_app, start_node_exporter, start_prometheus

pytestmark = pytest.mark.integration


@dataclass
class Stack:
    app: LiveServer
    prometheus: Daemon
    prometheus_url: str
    node_port: int
    token: str

    def api(self, method: str, path: str, **kwargs) -> requests.Response:
        headers = {"Authorization": f"Bearer {self.token}"}
        return requests.request(method, self.app.url + path, headers=headers, timeout=10, **kwargs)

    def prometheus_targets(self) -> list[dict]:
        answer = requests.get(f"{self.prometheus_url}/api/v1/targets", timeout=5).json()
        return answer["data"]["activeTargets"]


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    prom_port, app_port = free_port(), free_port()
    settings = settings_for_prometheus(
        tmp_path, prom_port, app_scrape_target=f"127.0.0.1:{app_port}"
    )
    node, node_port = start_node_exporter(tmp_path / "logs")
    app = start_app(settings, app_port, tmp_path / "logs")
    prometheus = None
    try:
        prometheus = start_prometheus(
            settings.prometheus_dir / "prometheus.yml", prom_port, tmp_path / "prom"
        )
        db = Database(settings.database)
        token = AccountService(db).create_token(1, {"name": "integration"})[1]
        db.dispose()
        yield Stack(app, prometheus, settings.prometheus_url, node_port, token)
    finally:
        for daemon in (prometheus, app.daemon, node):
            if daemon:
                daemon.stop()


def test_rendered_config_passes_promtool(stack: Stack) -> None:
    config = stack.app.settings.prometheus_dir / "prometheus.yml"
    result = subprocess.run(
        [require_binary("promtool"), "check", "config", str(config)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout + result.stderr


def _health(stack: Stack, job: str, instance: str) -> str | None:
    for target in stack.prometheus_targets():
        labels = target["labels"]
        if labels.get("job") == job and labels.get("instance") == instance:
            return target["health"]
    return None


def test_added_server_is_scraped_up_then_removed(stack: Stack) -> None:
    node_file = stack.app.settings.targets_dir / "node.json"
    assert json.loads(node_file.read_text()) == []
    body = {
        "name": "worker-01",
        "server_ip": "127.0.0.1",
        "labels": {"rack": "r1"},
        "exporters": {"node": {"installed": True, "port": stack.node_port}},
    }
    created = stack.api("POST", "/api/servers", json=body)
    assert created.status_code == 201, created.text
    told = json.loads(node_file.read_text())
    assert told[0]["targets"] == [f"127.0.0.1:{stack.node_port}"]
    assert told[0]["labels"] == {"rack": "r1", "instance": "worker-01", "server_ip": "127.0.0.1"}

    wait_until(lambda: _health(stack, "node", "worker-01") == "up", 30, "node target up")
    query = requests.get(
        f"{stack.prometheus_url}/api/v1/query",
        params={"query": 'up{job="node", instance="worker-01", rack="r1"}'},
        timeout=5,
    ).json()
    assert query["data"]["result"][0]["value"][1] == "1"

    joined = stack.api("GET", "/api/prometheus/targets").json()
    assert joined["prometheus"]["reachable"] is True
    assert [(t["job"], t["server"], t["health"]) for t in joined["targets"]] == [
        ("node", "worker-01", "up")
    ]

    assert stack.api("DELETE", f"/api/servers/{created.json()['id']}").status_code == 204
    assert json.loads(node_file.read_text()) == []
    wait_until(lambda: _health(stack, "node", "worker-01") is None, 30, "target to disappear")
    assert stack.prometheus.process.poll() is None, "Prometheus was restarted or died"


def test_prometheus_scrapes_itself_and_the_app(stack: Stack) -> None:
    def both_up() -> bool:
        jobs = {t["labels"]["job"]: t["health"] for t in stack.prometheus_targets()}
        return jobs.get("prometheus") == "up" and jobs.get("dc-overview") == "up"

    wait_until(both_up, 30, "prometheus and dc-overview jobs up")
    health = stack.api("GET", "/api/health").json()
    assert health["status"] == "ok", health
