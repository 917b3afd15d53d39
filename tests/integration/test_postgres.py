"""DATABASE_URL: the migrations and the API on a real PostgreSQL server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import inspect

from dc_overview.settings import load_settings
from dc_overview.web import create_app
from tests.conftest import bearer, make_token, services_of
from tests.support.postgres import start_postgres

pytestmark = pytest.mark.integration


@pytest.fixture
def pg_app(tmp_path: Path) -> Iterator[Flask]:
    server = start_postgres(Path("/tmp") / f"dco-pg-{tmp_path.name}")
    try:
        settings = load_settings(
            tmp_path / "config",
            tmp_path / "data",
            environ={
                "DATABASE_URL": server.url,
                "DC_OVERVIEW_PROMETHEUS_URL": "http://127.0.0.1:1/prometheus",
            },
        )
        app = create_app(settings)
        yield app
        services_of(app).close()
    finally:
        server.stop()


def test_postgres_schema_and_api(pg_app: Flask) -> None:
    services = services_of(pg_app)
    assert services.db.engine.dialect.name == "postgresql"
    tables = set(inspect(services.db.engine).get_table_names())
    assert {"servers", "server_exporters", "ssh_keys", "host_keys", "users", "api_tokens"} <= tables
    assert not (services.settings.data_dir / "dc_overview.db").exists()

    client, headers = pg_app.test_client(), bearer(make_token(pg_app))
    body = {"name": "gpu-01", "server_ip": "2001:db8::7", "labels": {"rack": "B2"}}
    created = client.post("/api/servers", json=body, headers=headers)
    assert created.status_code == 201, created.get_json()
    duplicate = client.post("/api/servers", json=body, headers=headers)
    assert duplicate.status_code == 422
    assert duplicate.get_json()["errors"][0]["field"] == "name"
    listed = client.get("/api/servers", headers=headers).get_json()
    assert [(s["name"], s["labels"]) for s in listed] == [("gpu-01", {"rack": "B2"})]
    # Migrating again is a no-op on an up-to-date database.
    services.db.migrate()
