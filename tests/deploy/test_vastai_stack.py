"""The stack's vastai-exporter: its config section (a 0600 key file, checked whole), the compose
service (only when configured, no key in the file), its secret copy, and its scrape target in the
`vastai` job (a file of its own, accepted by promtool, never overwritten by the inventory)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from dc_overview.cli import main
from dc_overview.deploy import vastai
from dc_overview.deploy.compose import ComposeProject, StackShape, host_settings, render_compose
from dc_overview.deploy.config import QuickstartConfig, load_config_file, parse_config
from dc_overview.deploy.detect import Detection
from dc_overview.deploy.quickstart import Plan
from dc_overview.inventory.errors import ValidationFailed
from dc_overview.prometheus.config import write_prometheus_config
from dc_overview.prometheus.targets import JOBS, TargetPublisher
from tests.support.processes import require_binary
from tests.support.vastai_api import KEY_MAIN, KEY_SPARE

KEY_LINES = f"# two accounts\nmain:{KEY_MAIN}\nspare:{KEY_SPARE}\n"


def key_file(tmp_path: Path, text: str = KEY_LINES, mode: int = 0o600) -> Path:
    path = tmp_path / "vast-keys"
    path.write_text(text)
    path.chmod(mode)
    return path


def configured(tmp_path: Path, **vast: object) -> QuickstartConfig:
    return QuickstartConfig.model_validate(
        {"vastai": {"api_keys_file": str(key_file(tmp_path)), **vast}}
    )


BAD_KEY_FILES = [
    ("missing", None, 0o600, "does not exist or is not a file"),
    ("world-readable", KEY_LINES, 0o644, "run chmod 600"),
    ("empty", "# nothing yet\n\n", 0o600, "holds no API key"),
    ("malformed", f"main {KEY_MAIN}\n", 0o600, "line 1: expected 'name:key' or 'key'"),
    ("duplicate names", f"a:{KEY_MAIN}\na:{KEY_SPARE}\n", 0o600, "must be unique"),
]


@pytest.mark.parametrize("case, text, mode, message", BAD_KEY_FILES)
def test_bad_key_file_is_refused_naming_the_key_and_the_fix(
    tmp_path: Path, case: str, text: str | None, mode: int, message: str
) -> None:
    keys = tmp_path / "vast-keys"
    if text is not None:
        key_file(tmp_path, text, mode)
    config = tmp_path / "quickstart.yaml"
    config.write_text(f"site_name: X\nvastai:\n  api_keys_file: {keys}\n")
    with pytest.raises(ValidationFailed) as caught:
        load_config_file(config)
    fields = caught.value.fields()
    assert list(fields) == ["vastai.api_keys_file (line 3)"], case
    assert message in fields["vastai.api_keys_file (line 3)"], fields
    if case in ("empty", "malformed"):
        assert "write one 'name:key'" in fields["vastai.api_keys_file (line 3)"]
    assert KEY_MAIN not in str(fields) and KEY_MAIN[:16] not in str(fields)


@pytest.mark.parametrize(
    "section, key, message",
    [
        ({"api_keys_file": "vast-keys"}, "vastai.api_keys_file", "absolute path"),
        ({"api_key": KEY_MAIN}, "vastai.api_key", "unknown key"),
        ({"cache_seconds": 1}, "vastai.cache_seconds", "greater than or equal to 10"),
        ({"earnings_days": 0}, "vastai.earnings_days", "greater than or equal to 1"),
        ({"api_url": "console.vast.ai"}, "vastai.api_url", "pattern"),
    ],
)
def test_bad_vastai_values_are_refused(section: dict, key: str, message: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        parse_config({"vastai": section})
    fields = caught.value.fields()
    assert message in fields[key], fields


def test_cli_refuses_a_bad_key_file_before_touching_anything(tmp_path: Path) -> None:
    keys = key_file(tmp_path, mode=0o644)
    path = tmp_path / "quickstart.yaml"
    path.write_text(f"vastai:\n  api_keys_file: {keys}\n")
    config_dir = tmp_path / "config"
    result = CliRunner().invoke(
        main, ["--config-dir", str(config_dir), "quickstart", "--config", str(path), "--yes"]
    )
    assert result.exit_code == 2, result.output
    assert "vastai.api_keys_file (line 2)" in result.output
    assert f"chmod 600 {keys}" in " ".join(result.output.split())
    assert "Nothing was changed" in result.output
    assert not config_dir.exists()


def test_good_key_file_is_kept_as_a_path_and_the_keys_never_saved(tmp_path: Path) -> None:
    config = configured(tmp_path, cache_seconds=30)
    saved = config.without_secrets()
    assert saved["vastai"]["api_keys_file"] == str(tmp_path / "vast-keys")
    assert saved["vastai"]["api_url"] == "https://console.vast.ai"
    assert KEY_MAIN not in yaml.safe_dump(saved)
    assert QuickstartConfig().vastai.enabled is False


def test_compose_service_only_when_configured(tmp_path: Path) -> None:
    plain = yaml.safe_load(render_compose(QuickstartConfig(), tmp_path, StackShape()))
    assert vastai.SERVICE not in plain["services"]
    assert "vastai_api_keys" not in plain.get("secrets", {})
    config = configured(tmp_path, cache_seconds=15, api_url="http://fake-vast:8080")
    text = render_compose(config, tmp_path, StackShape(include_grafana=False))
    stack = yaml.safe_load(text)
    service = stack["services"][vastai.SERVICE]
    assert service["image"] == config.images.dc_overview
    assert service["user"] == "10001:10001"
    assert service["networks"] == ["cryptolabs"]
    assert "ports" not in service and "environment" not in service
    assert service["labels"] == {"com.centurylinklabs.watchtower.enable": "false"}
    assert service["entrypoint"] == ["vastai-exporter"]
    command = service["command"]
    assert command[command.index("--api-keys-file") + 1] == "/run/secrets/vastai_api_keys"
    assert command[command.index("--api-url") + 1] == "http://fake-vast:8080"
    assert command[command.index("--cache-seconds") + 1] == "15"
    assert service["secrets"] == ["vastai_api_keys"]
    assert stack["secrets"] == {
        "vastai_api_keys": {"file": str(tmp_path / "secrets" / "vastai_api_keys")}
    }
    assert "8622" in " ".join(service["healthcheck"]["test"])
    assert KEY_MAIN not in text and KEY_SPARE not in text
    published = {name for name, svc in stack["services"].items() if "ports" in svc}
    assert published == {"cryptolabs-proxy"}


def test_compose_accepts_the_rendered_file_with_both_secrets(tmp_path: Path) -> None:
    config = configured(tmp_path)
    (tmp_path / "secrets").mkdir()
    for name in ("grafana_admin_password", "vastai_api_keys"):
        (tmp_path / "secrets" / name).write_text("x\n")
    path = tmp_path / "docker-compose.yml"
    path.write_text(render_compose(config, tmp_path, StackShape()))
    ComposeProject("dco-unit", path).validate()


def test_plan_waits_for_the_exporter_only_when_configured(tmp_path: Path) -> None:
    def services(config: QuickstartConfig) -> list[str]:
        return Plan(config, tmp_path, Detection(), StackShape()).services

    assert vastai.SERVICE not in services(QuickstartConfig())
    assert services(configured(tmp_path))[-1] == vastai.SERVICE


def test_keys_copied_0600_and_removed_when_unset(tmp_path: Path) -> None:
    config_dir, targets = tmp_path / "config", tmp_path / "config" / "prometheus" / "targets"
    vastai.write_vastai_files(configured(tmp_path).vastai, config_dir, targets)
    secret = config_dir / "secrets" / "vastai_api_keys"
    assert secret.read_text() == KEY_LINES
    assert secret.stat().st_mode & 0o777 == 0o600
    assert (config_dir / "secrets").stat().st_mode & 0o777 == 0o700
    assert json.loads((targets / "vastai.stack.json").read_text()) == [
        {"targets": ["vastai-exporter:8622"], "labels": {"instance": "vastai-exporter"}}
    ]
    vastai.write_vastai_files(QuickstartConfig().vastai, config_dir, targets)
    assert not secret.exists()
    assert json.loads((targets / "vastai.stack.json").read_text()) == []


def test_inventory_writer_keeps_the_stack_target_and_reports_it(tmp_path: Path) -> None:
    targets = tmp_path / "targets"
    vastai.write_vastai_files(configured(tmp_path).vastai, tmp_path / "config", targets)
    publisher = TargetPublisher(lambda: [], targets)
    publisher.publish()
    assert json.loads((targets / "vastai.json").read_text()) == []
    told = publisher.read()
    assert set(told) == set(JOBS)
    assert told["vastai"] == vastai.stack_targets(configured(tmp_path).vastai)
    assert told["node"] == []


def test_prometheus_scrapes_the_stack_exporter_in_the_vastai_job(tmp_path: Path) -> None:
    config = configured(tmp_path)
    settings = host_settings(config, tmp_path / "config")
    path = write_prometheus_config(settings)
    publisher = TargetPublisher(lambda: [], settings.targets_dir)
    publisher.publish()
    vastai.write_vastai_files(config.vastai, settings.config_dir, settings.targets_dir)
    rendered = yaml.safe_load(path.read_text())
    job = next(j for j in rendered["scrape_configs"] if j["job_name"] == "vastai")
    files = [f for sd in job["file_sd_configs"] for f in sd["files"]]
    assert files == [
        "/etc/prometheus/targets/vastai.json",
        "/etc/prometheus/targets/vastai.stack.json",
    ]
    # promtool reads the files where they are on this host.
    local = path.read_text().replace("/etc/prometheus/", f"{settings.prometheus_dir}/")
    (settings.prometheus_dir / "metrics_token").write_text("token\n")
    local_path = settings.prometheus_dir / "local.yml"
    local_path.write_text(local)
    result = subprocess.run(
        [require_binary("promtool"), "check", "config", str(local_path)],
        capture_output=True,
        text=True,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "SUCCESS" in output and "WARNING" not in output, output
