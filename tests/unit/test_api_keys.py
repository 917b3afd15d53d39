"""/api/ssh-keys: generate, upload, public half only, delete refused while in use."""

import stat
import subprocess
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.conftest import bearer, services_of
from tests.support.snapshot import inventory_snapshot


@pytest.fixture
def headers(admin_token: str) -> dict[str, str]:
    return bearer(admin_token)


def test_generate_stores_private_key_0600_and_returns_public_only(
    client: FlaskClient, app: Flask, headers: dict
) -> None:
    response = client.post("/api/ssh-keys", json={"name": "fleet"}, headers=headers)
    assert response.status_code == 201
    key = response.get_json()
    assert key["key_type"] == "ssh-ed25519"
    assert "private" not in str(key).lower()
    path = services_of(app).settings.ssh_keys_dir / "fleet"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    public = client.get(f"/api/ssh-keys/{key['id']}/public", headers=headers)
    assert public.get_data(as_text=True).startswith("ssh-ed25519 ")
    # OpenSSH agrees with our fingerprint and can read the private key we wrote.
    derived = subprocess.run(["ssh-keygen", "-y", "-f", str(path)], capture_output=True, text=True)
    assert derived.returncode == 0, derived.stderr
    listed = subprocess.run(
        ["ssh-keygen", "-l", "-f", "/dev/stdin"],
        input=key["public_key"],
        capture_output=True,
        text=True,
    )
    assert key["fingerprint"] in listed.stdout


def test_upload_dedupes_by_fingerprint(
    client: FlaskClient, app: Flask, headers: dict, tmp_path: Path
) -> None:
    subprocess.run(["ssh-keygen", "-q", "-t", "rsa", "-b", "2048", "-N", "", "-m", "PEM",
                    "-f", str(tmp_path / "k")], check=True)  # fmt: skip
    text = (tmp_path / "k").read_text()
    first = client.post("/api/ssh-keys", json={"name": "old", "private_key": text}, headers=headers)
    assert first.status_code == 201
    assert first.get_json()["key_type"] == "ssh-rsa"
    before = inventory_snapshot(services_of(app))
    again = client.post("/api/ssh-keys", json={"name": "dup", "private_key": text}, headers=headers)
    assert again.status_code == 422
    assert again.get_json()["errors"][0] == {
        "field": "private_key", "message": "this key is already stored as 'old'",
    }  # fmt: skip
    assert inventory_snapshot(services_of(app)) == before


@pytest.mark.parametrize(
    "body, field",
    [
        ({"name": "x", "private_key": "not a key"}, "private_key"),
        ({"name": "../etc", "private_key": "x"}, "name"),
        ({"name": ""}, "name"),
        ({"name": "x", "type": "rsa"}, "type"),
        ({}, "name"),
    ],
)
def test_bad_key_input(client, app, headers, body, field) -> None:
    before = inventory_snapshot(services_of(app))
    response = client.post("/api/ssh-keys", json=body, headers=headers)
    assert response.status_code == 422
    assert field in {e["field"] for e in response.get_json()["errors"]}
    assert inventory_snapshot(services_of(app)) == before


def test_passphrase_protected_key_is_refused_with_the_fix(
    client: FlaskClient, headers: dict, tmp_path: Path
) -> None:
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "secret-pass",
                    "-f", str(tmp_path / "k")], check=True)  # fmt: skip
    body = {"name": "locked", "private_key": (tmp_path / "k").read_text()}
    response = client.post("/api/ssh-keys", json=body, headers=headers)
    assert response.status_code == 422
    assert "passphrase" in response.get_json()["errors"][0]["message"]


def test_delete_refused_while_a_server_uses_the_key(
    client: FlaskClient, app: Flask, headers: dict
) -> None:
    key_id = client.post("/api/ssh-keys", json={"name": "k"}, headers=headers).get_json()["id"]
    body = {"name": "gpu-01", "server_ip": "10.0.0.1", "ssh_key_id": key_id}
    server_id = client.post("/api/servers", json=body, headers=headers).get_json()["id"]
    refused = client.delete(f"/api/ssh-keys/{key_id}", headers=headers)
    assert refused.status_code == 409
    assert "used by 1 server" in refused.get_json()["error"]
    client.delete(f"/api/servers/{server_id}", headers=headers)
    assert client.delete(f"/api/ssh-keys/{key_id}", headers=headers).status_code == 204
    assert not (services_of(app).settings.ssh_keys_dir / "k").exists()
