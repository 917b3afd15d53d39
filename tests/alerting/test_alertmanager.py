"""Alertmanager: receivers from the quickstart config, secrets only as 0600 files, the
rendered file accepted by `amtool check-config`, routing and inhibition as intended."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from dc_overview.alerting.config import (
    RECEIVER,
    render_alertmanager_config,
    secret_sources,
    write_alertmanager,
)
from dc_overview.alerting.receivers import AlertsConfig
from dc_overview.deploy.config import QuickstartConfig, parse_config
from dc_overview.inventory.errors import ValidationFailed

SECRETS = {
    "tg-token": "123456:AAH-telegram-bot-token",
    "slack-url": "https://hooks.slack.com/services/T000/B000/slack-secret",
    "smtp-password": "smtp-secret-password",
    "webhook-url": "https://hooks.example.com/alert?key=webhook-secret",
    "webhook-bearer": "webhook-bearer-secret",
}


def amtool() -> str:
    """amtool 0.26 or later (receivers' *_file secrets); fails with the fix when missing."""
    path = shutil.which("amtool")
    hint = (
        "install amtool >= 0.26 (Debian package prometheus-alertmanager from trixie, or "
        "extract /usr/bin/amtool from it); bookworm's 0.25 lacks bot_token_file and url_file"
    )
    if path is None:
        pytest.fail(f"amtool is not installed: {hint}")
    version = subprocess.run([path, "--version"], capture_output=True, text=True).stdout
    found = re.search(r"version (\d+)\.(\d+)", version + " ")
    if not found or (int(found.group(1)), int(found.group(2))) < (0, 26):
        pytest.fail(f"{path} is too old ({version.strip()}): {hint}")
    return path


@pytest.fixture
def secret_files(tmp_path: Path) -> dict[str, str]:
    folder = tmp_path / "operator"
    folder.mkdir()
    paths = {}
    for name, value in SECRETS.items():
        path = folder / name
        path.write_text(value + "\n")
        path.chmod(0o600)
        paths[name] = str(path)
    return paths


def every_receiver(files: dict[str, str]) -> dict:
    return {
        "telegram": {"bot_token_file": files["tg-token"], "chat_id": -1001234567890},
        "slack": {"api_url_file": files["slack-url"], "channel": "#gpu-alerts"},
        "email": {
            "to": "ops@example.com",
            "from": "dc-overview@example.com",
            "smarthost": "smtp.example.com:587",
            "auth_username": "dc-overview",
            "auth_password_file": files["smtp-password"],
        },
        "webhook": {"url_file": files["webhook-url"], "bearer_token_file": files["webhook-bearer"]},
    }


def alerts_config(files: dict[str, str]) -> AlertsConfig:
    return AlertsConfig.model_validate({"alertmanager": every_receiver(files)})


def written(tmp_path: Path, files: dict[str, str]) -> Path:
    folder = tmp_path / "alertmanager"
    return write_alertmanager(alerts_config(files).alertmanager, folder, view=folder)


def test_amtool_accepts_the_config_with_every_receiver(tmp_path: Path, secret_files) -> None:
    path = written(tmp_path, secret_files)
    run = subprocess.run([amtool(), "check-config", str(path)], capture_output=True, text=True)
    output = run.stdout + run.stderr
    assert run.returncode == 0, output
    assert "SUCCESS" in output and "1 receivers" in output and "1 inhibit rules" in output


def test_no_secret_is_in_the_rendered_file(tmp_path: Path, secret_files) -> None:
    path = written(tmp_path, secret_files)
    text = path.read_text()
    for value in SECRETS.values():
        assert value not in text
    receiver = yaml.safe_load(text)["receivers"][0]
    secrets = path.parent / "secrets"
    assert receiver["telegram_configs"][0]["bot_token_file"] == str(secrets / "telegram_bot_token")
    assert receiver["slack_configs"][0]["api_url_file"] == str(secrets / "slack_api_url")
    email = receiver["email_configs"][0]
    assert email["auth_password_file"] == str(secrets / "email_auth_password")
    assert "auth_password" not in email and email["from"] == "dc-overview@example.com"
    webhook = receiver["webhook_configs"][0]
    assert webhook["url_file"] == str(secrets / "webhook_url") and "url" not in webhook
    assert webhook["http_config"]["authorization"]["credentials_file"].startswith(str(secrets))


def test_secret_copies_are_private_and_exact(tmp_path: Path, secret_files) -> None:
    path = written(tmp_path, secret_files)
    secrets = path.parent / "secrets"
    assert secrets.stat().st_mode & 0o777 == 0o700
    copies = {p.name: p for p in secrets.iterdir()}
    assert set(copies) == set(secret_sources(alerts_config(secret_files).alertmanager))
    assert len(copies) == len(SECRETS)
    for copy in copies.values():
        assert copy.stat().st_mode & 0o777 == 0o600
        assert copy.read_text() in SECRETS.values()  # no trailing newline: read as is
    assert path.stat().st_mode & 0o777 == 0o644


def test_the_container_sees_its_own_paths(secret_files) -> None:
    text = render_alertmanager_config(alerts_config(secret_files).alertmanager)
    assert "/etc/alertmanager/secrets/telegram_bot_token" in text
    assert str(Path(secret_files["tg-token"]).parent) not in text


def test_a_receiver_removed_drops_its_secret(tmp_path: Path, secret_files) -> None:
    written(tmp_path, secret_files)
    only_slack = AlertsConfig.model_validate(
        {"alertmanager": {"slack": {"api_url_file": secret_files["slack-url"]}}}
    )
    folder = tmp_path / "alertmanager"
    text = write_alertmanager(only_slack.alertmanager, folder, view=folder).read_text()
    assert [p.name for p in (folder / "secrets").iterdir()] == ["slack_api_url"]
    assert "telegram_configs" not in text and "slack_configs" in text


def test_routing_and_inhibition(tmp_path: Path, secret_files) -> None:
    path = written(tmp_path, secret_files)
    run = subprocess.run(
        [amtool(), "config", "routes", "test", f"--config.file={path}", "alertname=GpuXidError"],
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.strip() == RECEIVER
    config = yaml.safe_load(path.read_text())
    assert config["route"]["group_by"] == ["alertname", "instance"]
    inhibit = config["inhibit_rules"][0]
    assert inhibit["source_matchers"] == ['alertname="NodeDown"']
    assert inhibit["equal"] == ["instance"]


@pytest.mark.parametrize(
    "receiver, message",
    [
        ({"telegram": {"bot_token": "123:abc", "chat_id": 1}}, "bot_token_file"),
        ({"slack": {"api_url": "https://hooks.slack.com/x"}}, "api_url_file"),
        ({"webhook": {"url": "https://h.example/x", "bearer_token": "t"}}, "bearer_token_file"),
        ({"telegram": {"bot_token_file": "relative/token", "chat_id": 1}}, "absolute path"),
        ({"telegram": {"bot_token_file": "/nonexistent/token", "chat_id": 1}}, "does not exist"),
        ({"webhook": {"send_resolved": True}}, "exactly one of url and url_file"),
        ({"email": {"to": "a@b.c", "from": "d@e.f", "smarthost": "smtp:25",
                    "auth_username": "u"}}, "go together"),
    ],
)  # fmt: skip
def test_inline_or_missing_secrets_are_refused(receiver: dict, message: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        parse_config({"alerts": {"alertmanager": receiver}})
    assert message in str(caught.value.fields())


def test_a_secret_file_others_can_read_is_refused(tmp_path: Path) -> None:
    token = tmp_path / "tg-token"
    token.write_text("123:abc\n")
    token.chmod(0o644)
    with pytest.raises(ValidationFailed) as caught:
        parse_config({"alerts": {"alertmanager": {"telegram": {"bot_token_file": str(token),
                                                               "chat_id": 1}}}})  # fmt: skip
    assert "chmod 600" in str(caught.value.fields())


def test_thresholds_in_the_config(tmp_path: Path) -> None:
    config = parse_config({"alerts": {"thresholds": {"gpu_core_temp_c": 80}}})
    thresholds = config.alerts.thresholds.to_thresholds()
    assert thresholds.gpu_core_temp_c == 80 and thresholds.gpu_hotspot_temp_c == 100
    with pytest.raises(ValidationFailed) as caught:
        parse_config({"alerts": {"thresholds": {"gpu_vram_temp_c": 500}}})
    assert "alerts.thresholds.gpu_vram_temp_c" in caught.value.fields()
    assert not QuickstartConfig().alerts.alertmanager_enabled


def test_saved_config_keeps_paths_not_secrets(secret_files) -> None:
    config = parse_config({"alerts": {"alertmanager": every_receiver(secret_files)}})
    saved = config.without_secrets()
    text = yaml.safe_dump(saved)
    for value in SECRETS.values():
        assert value not in text
    assert saved["alerts"]["alertmanager"]["email"]["from"] == "dc-overview@example.com"
    assert parse_config(yaml.safe_load(text)) == config  # the saved file loads back the same
