"""The quickstart's stack carries the rules, the dashboards and (with receivers) Alertmanager:
compose service, Prometheus `alerting:` block, files in the config dir."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
import yaml

from dc_overview.alerting.config import give_to
from dc_overview.deploy import quickstart
from dc_overview.deploy.compose import (
    ALERTMANAGER_TARGET,
    ALERTMANAGER_UID,
    ComposeProject,
    StackShape,
    app_environment,
    host_settings,
    render_compose,
    write_compose,
)
from dc_overview.deploy.config import QuickstartConfig
from dc_overview.deploy.detect import Detection
from dc_overview.grafana.dashboards import DASHBOARDS
from dc_overview.prometheus.config import render_prometheus_config
from dc_overview.prometheus.rules import RULE_FILES
from dc_overview.settings import load_settings
from tests.support.processes import require_binary


@pytest.fixture
def token_file(tmp_path: Path) -> str:
    path = tmp_path / "tg-token"
    path.write_text("123456:telegram-secret\n")
    path.chmod(0o600)
    return str(path)


def with_receivers(token_file: str) -> QuickstartConfig:
    return QuickstartConfig.model_validate(
        {
            "alerts": {
                "thresholds": {"gpu_core_temp_c": 80},
                "alertmanager": {"telegram": {"bot_token_file": token_file, "chat_id": 42}},
            }
        }
    )


def test_alertmanager_service_only_with_receivers(tmp_path: Path, token_file: str) -> None:
    plain = yaml.safe_load(render_compose(QuickstartConfig(), tmp_path, StackShape()))
    assert "alertmanager" not in plain["services"]
    assert "alertmanager-data" not in plain["volumes"]
    stack = yaml.safe_load(render_compose(with_receivers(token_file), tmp_path, StackShape()))
    service = stack["services"]["alertmanager"]
    assert service["image"] == "prom/alertmanager:v0.28.1"
    assert service["user"] == "65534:65534"
    assert "ports" not in service and service["networks"] == ["cryptolabs"]
    assert f"{tmp_path}/alertmanager:/etc/alertmanager:ro" in service["volumes"]
    assert "--config.file=/etc/alertmanager/alertmanager.yml" in service["command"]
    assert "environment" not in service
    assert "alertmanager-data" in stack["volumes"]
    assert "telegram-secret" not in render_compose(
        with_receivers(token_file), tmp_path, StackShape()
    )


def test_compose_accepts_the_file_with_alertmanager(tmp_path: Path, token_file: str) -> None:
    (tmp_path / "secrets").mkdir()
    (tmp_path / "secrets" / "grafana_admin_password").write_text("x\n")
    path = write_compose(with_receivers(token_file), tmp_path, StackShape())
    ComposeProject("dco-alerting", path).validate()


def test_prometheus_sends_alerts_only_when_alertmanager_runs(token_file: str) -> None:
    plain = yaml.safe_load(render_prometheus_config(host_settings(QuickstartConfig(), Path("/x"))))
    assert "alerting" not in plain
    config = with_receivers(token_file)
    on_host = render_prometheus_config(host_settings(config, Path("/srv/dco")))
    in_container = render_prometheus_config(
        load_settings(environ={**app_environment(config), "DC_OVERVIEW_CONFIG_DIR": "/etc/x"})
    )
    assert on_host == in_container
    alerting = yaml.safe_load(on_host)["alerting"]
    assert alerting["alertmanagers"][0]["static_configs"][0]["targets"] == [ALERTMANAGER_TARGET]


def test_promtool_accepts_prometheus_yml_with_alerting(tmp_path: Path, token_file: str) -> None:
    settings = host_settings(with_receivers(token_file), tmp_path)
    path = tmp_path / "prometheus.yml"
    path.write_text(render_prometheus_config(settings))
    run = subprocess.run(
        [require_binary("promtool"), "check", "config", "--syntax-only", str(path)],
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stdout + run.stderr


def plan_for(config: QuickstartConfig, config_dir: Path) -> quickstart.Plan:
    return quickstart.Plan(config, config_dir, Detection(), StackShape())


def test_quickstart_writes_rules_dashboards_and_alertmanager(
    tmp_path: Path, token_file: str
) -> None:
    config_dir = tmp_path / "config"
    plan = plan_for(with_receivers(token_file), config_dir)
    quickstart._write_files(plan)
    rules = config_dir / "prometheus" / "rules"
    assert sorted(p.name for p in rules.iterdir()) == sorted(f"{n}.yml" for n in RULE_FILES)
    assert "DCGM_FI_DEV_GPU_TEMP > 80" in (rules / "dc-overview-gpu.yml").read_text()
    dashboards = config_dir / "grafana" / "dashboards"
    assert sorted(p.name for p in dashboards.iterdir()) == sorted(DASHBOARDS)
    fleet = json.loads((dashboards / "dc-overview-fleet.json").read_text())
    assert fleet["uid"] == "dc-overview-fleet"
    alertmanager = config_dir / "alertmanager"
    assert "telegram_configs" in (alertmanager / "alertmanager.yml").read_text()
    token = alertmanager / "secrets" / "telegram_bot_token"
    assert token.read_text() == "123456:telegram-secret"
    assert token.stat().st_mode & 0o777 == 0o600
    assert plan.services[-1] == "alertmanager"
    saved = yaml.safe_load((config_dir / "quickstart.yaml").read_text())
    assert saved["alerts"]["alertmanager"]["telegram"]["bot_token_file"] == token_file


def test_without_receivers_there_is_no_alertmanager(tmp_path: Path, token_file: str) -> None:
    quickstart._write_files(plan_for(with_receivers(token_file), tmp_path))
    assert (tmp_path / "alertmanager" / "secrets" / "telegram_bot_token").exists()
    plan = plan_for(QuickstartConfig(), tmp_path)
    quickstart._write_files(plan)  # receivers removed: config and secret copies go too
    assert not (tmp_path / "alertmanager").exists()
    assert "alertmanager" not in plan.services
    assert (tmp_path / "prometheus" / "rules" / "dc-overview-hosts.yml").exists()


def test_alertmanager_files_belong_to_its_user(tmp_path: Path, token_file: str) -> None:
    quickstart._write_files(plan_for(with_receivers(token_file), tmp_path))
    assert os.geteuid() == 0, "the quickstart (and this test) runs as root: chown needs it"
    assert give_to(tmp_path / "alertmanager", ALERTMANAGER_UID)
    for path in [tmp_path / "alertmanager", *(tmp_path / "alertmanager").rglob("*")]:
        assert path.stat().st_uid == ALERTMANAGER_UID, path
    assert (tmp_path / "prometheus" / "rules").stat().st_uid != ALERTMANAGER_UID


def test_a_rerun_reloads_rules(tmp_path: Path, token_file: str, monkeypatch) -> None:
    calls: list[tuple[str, ...]] = []
    monkeypatch.setattr(ComposeProject, "run", lambda self, *args, **kw: calls.append(args))
    quickstart._reload_alerting(plan_for(with_receivers(token_file), tmp_path))
    quickstart._reload_alerting(plan_for(QuickstartConfig(), tmp_path))
    assert calls == [
        ("kill", "-s", "SIGHUP", "prometheus", "alertmanager"),
        ("kill", "-s", "SIGHUP", "prometheus"),
    ]
