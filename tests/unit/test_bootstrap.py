"""First start: secrets 0600, the admin from a secret file, re-runs keep everything."""

import stat
from pathlib import Path

import pytest

from dc_overview.bootstrap import prepare
from dc_overview.services import build_services
from tests.conftest import make_settings


def test_first_start_generates_secrets_privately(tmp_path: Path) -> None:
    services = build_services(make_settings(tmp_path))
    report = prepare(services)
    assert report.admin_created == "admin" and report.admin_password_generated
    secrets = services.settings.secrets_dir
    assert stat.S_IMODE(secrets.stat().st_mode) == 0o700
    for name in ("admin_password", "session_key", "metrics_token"):
        assert stat.S_IMODE((secrets / name).stat().st_mode) == 0o600
    password = (secrets / "admin_password").read_text().strip()
    assert services.accounts.authenticate("admin", password, "127.0.0.1") is not None


def test_admin_password_taken_from_existing_secret_file(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    settings.secrets_dir.mkdir(parents=True)
    secret = settings.secret_file("admin_password")
    secret.write_text("chosen-by-operator\n")
    secret.chmod(0o600)
    services = build_services(settings)
    report = prepare(services)
    assert report.admin_created == "admin" and not report.admin_password_generated
    assert services.accounts.authenticate("admin", "chosen-by-operator", "10.0.0.1")


def test_rerun_keeps_data_and_secrets(tmp_path: Path) -> None:
    services = build_services(make_settings(tmp_path))
    prepare(services)
    services.fleet.create({"name": "gpu-01", "server_ip": "10.0.0.1"})
    key = services.settings.secret_file("session_key").read_text()
    report = prepare(build_services(make_settings(tmp_path)))
    assert report.admin_created is None
    assert [s.name for s in services.fleet.list_servers()] == ["gpu-01"]
    assert services.settings.secret_file("session_key").read_text() == key


def test_world_readable_secret_is_refused(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    settings.secrets_dir.mkdir(parents=True)
    settings.secret_file("admin_password").write_text("chosen-by-operator\n")
    settings.secret_file("admin_password").chmod(0o644)
    with pytest.raises(PermissionError, match="chmod 600"):
        prepare(build_services(settings))
