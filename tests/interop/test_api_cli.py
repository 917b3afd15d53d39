"""`POST /api/import/ipmi-monitor` (admins) and `dc-overview import ipmi-monitor`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient

from dc_overview.cli import main
from tests.conftest import bearer, services_of
from tests.interop.conftest import ipmi_fixture
from tests.support.snapshot import inventory_snapshot

URL = "/api/import/ipmi-monitor"


def _mount_fixture(ipmi_root: Path) -> None:
    """As the quickstart mounts IPMI Monitor's data into the app container (a link, no copy)."""
    folder = ipmi_root / "ipmi-monitor-data"
    folder.mkdir()
    (folder / "ipmi_events.db").symlink_to(ipmi_fixture())


def test_admin_imports_and_gets_the_report(
    client: FlaskClient, app: Flask, admin_token: str, ipmi_root: Path
) -> None:
    _mount_fixture(ipmi_root)
    response = client.post(URL, headers=bearer(admin_token))
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["dry_run"] is False
    assert body["source"].endswith("ipmi-monitor-data/ipmi_events.db")
    assert body["counts"] == {"imported": 5, "updated": 0, "unchanged": 0, "held": 0,
                              "skipped": 1}  # fmt: skip
    skipped = [o for o in body["outcomes"] if o["result"] == "skipped"]
    assert skipped[0]["name"] == "gpu-node-03" and "deprecated" in skipped[0]["reason"]
    names = [s.name for s in services_of(app).fleet.list_servers()]
    assert names == ["gpu-node-01", "gpu-node-02", "gpu-node-04"]
    assert "key_content" not in response.get_data(as_text=True)
    assert "PRIVATE KEY" not in response.get_data(as_text=True)

    again = client.post(URL, json={}, headers=bearer(admin_token)).get_json()
    assert again["counts"]["unchanged"] == 5


def test_options_dry_run_and_include_disabled(
    client: FlaskClient, app: Flask, admin_token: str, ipmi_root: Path
) -> None:
    _mount_fixture(ipmi_root)
    before = inventory_snapshot(services_of(app))
    options = {"dry_run": True, "include_disabled": True}
    body = client.post(URL, json=options, headers=bearer(admin_token)).get_json()
    assert body["dry_run"] is True
    assert body["counts"]["held"] == 1 and body["counts"]["imported"] == 5
    assert inventory_snapshot(services_of(app)) == before


@pytest.mark.parametrize("body, field", [
    ({"dry_run": "yes"}, "dry_run"),
    ({"include_disabled": 1}, "include_disabled"),
    ({"db": "/etc/passwd"}, "db"),
    ([], "body"),
])  # fmt: skip
def test_strict_validation(
    client: FlaskClient, app: Flask, admin_token: str, ipmi_root: Path, body, field: str
) -> None:
    _mount_fixture(ipmi_root)
    before = inventory_snapshot(services_of(app))
    response = client.post(URL, json=body, headers=bearer(admin_token))
    assert response.status_code == 422
    assert field in {e["field"] for e in response.get_json()["errors"]}
    assert inventory_snapshot(services_of(app)) == before


def test_malformed_json_is_refused(client: FlaskClient, admin_token: str) -> None:
    response = client.post(URL, data="{", content_type="application/json",
                           headers=bearer(admin_token))  # fmt: skip
    assert response.status_code == 422


def test_viewer_cannot_import(client: FlaskClient, viewer_token: str, ipmi_root: Path) -> None:
    _mount_fixture(ipmi_root)
    response = client.post(URL, json={}, headers=bearer(viewer_token))
    assert response.status_code == 403


def test_not_found_and_bad_database(
    client: FlaskClient, app: Flask, admin_token: str, ipmi_root: Path
) -> None:
    missing = client.post(URL, json={}, headers=bearer(admin_token))
    assert missing.status_code == 404
    assert "IPMI Monitor was not found" in missing.get_json()["error"]

    folder = ipmi_root / "var/lib/ipmi-monitor"
    folder.mkdir(parents=True)
    (folder / "ipmi_events.db").write_text("not sqlite")
    before = inventory_snapshot(services_of(app))
    bad = client.post(URL, json={}, headers=bearer(admin_token))
    assert bad.status_code == 422
    [error] = bad.get_json()["errors"]
    assert error["field"] == "ipmi_monitor" and "not a SQLite database" in error["message"]
    assert inventory_snapshot(services_of(app)) == before


def test_documented_in_openapi(client: FlaskClient, admin_token: str) -> None:
    document = client.get("/api/openapi.json", headers=bearer(admin_token)).get_json()
    operation = document["paths"][URL]["post"]
    assert operation["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "/IpmiImport"
    )
    schema = document["components"]["schemas"]["IpmiImport"]
    assert set(schema["properties"]) == {"dry_run", "include_disabled"}


@pytest.fixture
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("DC_OVERVIEW_PROMETHEUS_URL", "http://127.0.0.1:1/prometheus")
    dirs = ["--config-dir", str(tmp_path / "cli-config"), "--data-dir", str(tmp_path / "cli-data")]

    def invoke(*args: str):
        return CliRunner().invoke(main, [*dirs, *args], terminal_width=200)

    return invoke


def test_cli_prints_the_report(run) -> None:
    db = str(ipmi_fixture())
    dry = run("import", "ipmi-monitor", "--db", db, "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert "Would import: 5 imported, 1 skipped." in dry.output
    assert json.loads(run("servers", "list", "--json").output) == []

    done = run("import", "ipmi-monitor", "--db", db)
    assert done.exit_code == 0, done.output
    for expected in ("gpu-node-01", "gpu-node-03", "skipped", "Import: 5 imported, 1 skipped."):
        assert expected in done.output

    again = run("import", "ipmi-monitor", "--db", db, "--include-disabled", "--json")
    report = json.loads(again.output)
    assert report["counts"] == {"imported": 0, "updated": 0, "unchanged": 5, "held": 1,
                                "skipped": 0}  # fmt: skip


def test_cli_without_ipmi_monitor_says_how(run, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("dc_overview.cli.interop.detect_ipmi_monitor", lambda: None)
    result = run("import", "ipmi-monitor")
    assert result.exit_code == 1
    assert "IPMI Monitor was not found" in result.output and "--db PATH" in result.output
