"""/api/servers: the happy path, and every kind of bad input refused with nothing changed."""

import json

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.conftest import bearer, services_of
from tests.support.snapshot import inventory_snapshot

GOOD = {"name": "gpu-01", "server_ip": "10.0.0.11"}


@pytest.fixture
def api(client: FlaskClient, admin_token: str):
    def call(method: str, path: str, body=None, raw: bytes | None = None, **kwargs):
        headers = bearer(admin_token) | kwargs.pop("headers", {})
        if raw is not None:
            kwargs["data"] = raw
            headers.setdefault("Content-Type", "application/json")
        elif body is not None:
            kwargs["json"] = body
        return client.open(path, method=method, headers=headers, **kwargs)

    return call


def test_create_read_update_delete(api, app: Flask) -> None:
    created = api("POST", "/api/servers", GOOD | {"labels": {"rack": "A1"}, "has_gpu": True})
    assert created.status_code == 201, created.get_json()
    server = created.get_json()
    assert server["exporters"]["node"] == {
        "enabled": True, "installed": False, "version": None, "port": 9100,
    }  # fmt: skip
    assert server["exporters"]["dc"]["enabled"] is True
    assert api("GET", f"/api/servers/{server['id']}").get_json()["labels"] == {"rack": "A1"}

    change = {"ssh_port": 2222, "bmc_ip": "10.1.0.11"}
    patched = api("PATCH", f"/api/servers/{server['id']}", change)
    assert patched.status_code == 200
    assert (patched.get_json()["ssh_port"], patched.get_json()["bmc_ip"]) == (2222, "10.1.0.11")
    assert [s["name"] for s in api("GET", "/api/servers").get_json()] == ["gpu-01"]

    assert api("DELETE", f"/api/servers/{server['id']}").status_code == 204
    assert api("GET", f"/api/servers/{server['id']}").status_code == 404
    assert services_of(app).fleet.list_servers() == []


def test_installed_exporter_reaches_the_target_file(api, app: Flask) -> None:
    body = GOOD | {"exporters": {"node": {"installed": True, "port": 9101}}}
    server_id = api("POST", "/api/servers", body).get_json()["id"]
    node = json.loads(services_of(app).targets.file_for("node").read_text())
    assert node == [
        {"targets": ["10.0.0.11:9101"], "labels": {"instance": "gpu-01", "server_ip": "10.0.0.11"}}
    ]
    api("PATCH", f"/api/servers/{server_id}", {"exporters": {"node": {"enabled": False}}})
    assert json.loads(services_of(app).targets.file_for("node").read_text()) == []


BAD_CREATES = [
    ({"name": "gpu-01", "server_ip": 10}, "server_ip"),
    ({"name": 5, "server_ip": "10.0.0.1"}, "name"),
    ({"name": "gpu 01", "server_ip": "10.0.0.1"}, "name"),
    ({"name": "gpu-01", "server_ip": "300.0.0.1"}, "server_ip"),
    ({"name": "gpu-01", "server_ip": "10.0.0.1", "bmc_ip": "10.0.0.256"}, "bmc_ip"),
    ({"name": "gpu-01", "server_ip": "10.0.0.1", "ssh_port": 0}, "ssh_port"),
    ({"name": "gpu-01", "server_ip": "10.0.0.1", "ssh_port": 65536}, "ssh_port"),
    ({"name": "gpu-01", "server_ip": "10.0.0.1", "ssh_port": "22"}, "ssh_port"),
    ({"name": "gpu-01", "server_ip": "10.0.0.1", "root": True}, "root"),
    ({"name": "gpu-01", "server_ip": "10.0.0.1", "ssh_key_id": 99}, "ssh_key_id"),
    ({"name": "gpu-01", "server_ip": "10.0.0.1", "status": "online"}, "status"),
    ({"name": "gpu-01", "server_ip": "10.0.0.1", "exporters": {"node": {"port": 65536}}},
     "exporters.node.port"),
    ({"name": "gpu-01", "server_ip": "10.0.0.1", "exporters": {"node": {"installed": "yes"}}},
     "exporters.node.installed"),
]  # fmt: skip


@pytest.mark.parametrize("body, field", BAD_CREATES)
def test_bad_create_names_field_and_changes_nothing(api, app, body, field) -> None:
    api("POST", "/api/servers", {"name": "existing", "server_ip": "10.9.9.9"})
    before = inventory_snapshot(services_of(app))
    response = api("POST", "/api/servers", body)
    assert response.status_code == 422
    assert field in {e["field"] for e in response.get_json()["errors"]}
    assert inventory_snapshot(services_of(app)) == before


@pytest.mark.parametrize(
    "body, field",
    [
        ({"name": "existing", "server_ip": "10.0.0.2"}, "name"),
        ({"name": "other", "server_ip": "10.9.9.9"}, "server_ip"),
    ],
)
def test_duplicates_are_refused(api, app, body, field) -> None:
    api("POST", "/api/servers", {"name": "existing", "server_ip": "10.9.9.9"})
    before = inventory_snapshot(services_of(app))
    response = api("POST", "/api/servers", body)
    assert response.status_code == 422
    assert response.get_json()["errors"][0]["field"] == field
    assert inventory_snapshot(services_of(app)) == before


@pytest.mark.parametrize(
    "raw, headers, status",
    [
        (b'{"name": "gpu-01", ', {}, 422),
        (b"[1, 2]", {}, 422),
        (b'"just a string"', {}, 422),
        (b"\xff\xfe", {}, 422),
        (b'{"name": "gpu-01"}', {"Content-Type": "text/plain"}, 422),
        (b'{"name": "' + b"x" * 70000 + b'"}', {}, 413),
    ],
)
def test_malformed_and_oversized_bodies(api, app, raw, headers, status) -> None:
    before = inventory_snapshot(services_of(app))
    for method, path in (("POST", "/api/servers"), ("PATCH", "/api/servers/1")):
        if method == "PATCH":
            api("POST", "/api/servers", {"name": "p", "server_ip": "10.0.0.5"})
            before = inventory_snapshot(services_of(app))
        response = api(method, path, raw=raw, headers=headers)
        assert response.status_code == status, response.get_json()
        assert response.get_json()["errors"][0]["field"] == "body"
        assert inventory_snapshot(services_of(app)) == before


@pytest.mark.parametrize(
    "body, field",
    [
        ({"ssh_port": 0}, "ssh_port"),
        ({"name": "taken"}, "name"),
        ({"server_ip": "10.0.0.300"}, "server_ip"),
        ({"id": 7}, "id"),
        ({"labels": {"__meta": "x"}}, "labels"),
        ({"exporters": {"nvidia": {"enabled": True}}}, "exporters"),
    ],
)
def test_bad_patch_changes_nothing(api, app, body, field) -> None:
    api("POST", "/api/servers", {"name": "taken", "server_ip": "10.0.0.9"})
    server_id = api("POST", "/api/servers", GOOD).get_json()["id"]
    before = inventory_snapshot(services_of(app))
    response = api("PATCH", f"/api/servers/{server_id}", body)
    assert response.status_code == 422
    assert field in {e["field"] for e in response.get_json()["errors"]}
    assert inventory_snapshot(services_of(app)) == before


def test_unknown_ids_are_404(api) -> None:
    assert api("GET", "/api/servers/42").status_code == 404
    assert api("PATCH", "/api/servers/42", {"ssh_port": 23}).status_code == 404
    assert api("DELETE", "/api/servers/42").status_code == 404
    assert api("GET", "/api/servers/abc").status_code == 404
