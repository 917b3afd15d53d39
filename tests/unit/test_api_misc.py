"""OpenAPI, /metrics, Grafana status, Prometheus targets without Prometheus, the /dc prefix."""

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from flask import Flask
from flask.testing import FlaskClient

from dc_overview.web import create_app
from tests.conftest import bearer, make_settings, services_of


def test_openapi_documents_every_api_route(client: FlaskClient, app: Flask, admin_token) -> None:
    doc = client.get("/api/openapi.json", headers=bearer(admin_token)).get_json()
    assert doc["openapi"].startswith("3.")
    documented = {(path, method.upper()) for path, ops in doc["paths"].items() for method in ops}
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/"):
            continue
        path = rule.rule.replace("<int:", "{").replace(">", "}")
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            assert (path, method) in documented, f"{method} {path} missing from OpenAPI"
    create = doc["components"]["schemas"]["ServerCreate"]
    assert create["additionalProperties"] is False
    assert create["properties"]["ssh_port"]["maximum"] == 65535


def test_metrics_counts_servers_and_targets(client: FlaskClient, admin_token: str) -> None:
    headers = bearer(admin_token)
    body = {"name": "gpu-01", "server_ip": "10.0.0.1", "exporters": {"node": {"installed": True}}}
    client.post("/api/servers", json=body, headers=headers)
    text = client.get("/metrics", headers=headers).get_data(as_text=True)
    assert "dc_overview_servers 1.0" in text
    assert 'dc_overview_targets{job="node"} 1.0' in text
    assert 'dc_overview_targets{job="dc-exporter"} 0.0' in text
    assert "dc_overview_request_duration_seconds_bucket" in text


def test_metrics_token_only_opens_metrics(client: FlaskClient, app: Flask) -> None:
    settings = services_of(app).settings
    token = settings.secret_file("metrics_token").read_text().strip()
    assert client.get("/metrics", headers=bearer(token)).status_code == 200
    assert client.get("/api/servers", headers=bearer(token)).status_code == 401


def test_grafana_absent_is_a_clean_answer(client: FlaskClient, admin_token: str) -> None:
    body = client.get("/api/grafana/status", headers=bearer(admin_token)).get_json()
    assert body["available"] is False
    assert "not available" in body["reason"]


class _GrafanaHealth(BaseHTTPRequestHandler):
    """Answers like Grafana 11's /api/health (Grafana itself cannot run on these machines)."""

    def do_GET(self) -> None:
        payload = {"commit": "abc", "database": "ok", "version": "11.2.0"}
        data = json.dumps(payload).encode() if self.path.endswith("/api/health") else b"[]"
        self.send_response(200 if self.path.endswith("/api/health") else 401)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def grafana_url() -> Iterator[str]:
    server = HTTPServer(("127.0.0.1", 0), _GrafanaHealth)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/grafana"
    server.shutdown()


def test_grafana_present_reports_version(tmp_path, grafana_url: str) -> None:
    app = create_app(make_settings(tmp_path, grafana_url=grafana_url))
    dashboards = services_of(app).settings.config_dir / "grafana" / "dashboards"
    dashboards.mkdir(parents=True)
    (dashboards / "fleet-overview.json").write_text("{}")
    token = services_of(app).accounts.create_token(1, {"name": "t"})[1]
    body = app.test_client().get("/api/grafana/status", headers=bearer(token)).get_json()
    assert body == {
        "available": True, "version": "11.2.0", "database": "ok",
        "dashboards": [{"uid": None, "title": "fleet-overview"}],
    }  # fmt: skip


def test_targets_without_prometheus(client: FlaskClient, admin_token: str) -> None:
    headers = bearer(admin_token)
    body = {"name": "gpu-01", "server_ip": "10.0.0.1", "exporters": {"node": {"installed": True}}}
    client.post("/api/servers", json=body, headers=headers)
    answer = client.get("/api/prometheus/targets", headers=headers).get_json()
    assert answer["prometheus"]["reachable"] is False
    assert answer["targets"] == [
        {
            "job": "node", "server": "gpu-01", "address": "10.0.0.1:9100",
            "labels": {"instance": "gpu-01", "server_ip": "10.0.0.1"},
            "health": "unknown", "last_error": None, "last_scrape": None,
        }
    ]  # fmt: skip


def test_behind_proxy_prefix(client: FlaskClient) -> None:
    headers = {"X-Forwarded-Prefix": "/dc", "X-Forwarded-Proto": "https"}
    response = client.get("/", headers=headers)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/dc/login?next=")
    page = client.get("/login", headers=headers).get_data(as_text=True)
    assert 'action="/dc/login"' in page
    assert "/dc/static/" in page
