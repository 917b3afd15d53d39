"""The rendered compose file: valid for Compose v2, pinned, only the proxy publishes, no secrets."""

from pathlib import Path

import pytest
import yaml

from dc_overview.deploy.compose import (
    ComposeProject,
    StackShape,
    app_environment,
    host_settings,
    render_compose,
    write_compose,
)
from dc_overview.deploy.config import QuickstartConfig
from dc_overview.prometheus.config import render_prometheus_config
from dc_overview.settings import load_settings


@pytest.fixture
def config() -> QuickstartConfig:
    return QuickstartConfig.model_validate(
        {
            "proxy": {"bind_address": "127.0.0.1", "http_port": 8080, "https_port": 8443},
            "prometheus": {"retention": "15d", "remote_write": {"url": "https://vm.example/api/v1/write",
                           "username": "dc", "password_file": "/root/rw-password"}},
            "docker": {"watchtower": True},
        }
    )  # fmt: skip


def test_compose_config_accepts_the_rendered_file(tmp_path: Path, config) -> None:
    (tmp_path / "secrets").mkdir()
    (tmp_path / "secrets" / "grafana_admin_password").write_text("x\n")
    path = write_compose(config, tmp_path, StackShape())
    ComposeProject("dco-unit", path).validate()


def test_shape_of_the_stack(tmp_path: Path, config) -> None:
    stack = yaml.safe_load(render_compose(config, tmp_path, StackShape()))
    services = stack["services"]
    assert set(services) == {
        "dc-overview",
        "prometheus",
        "grafana",
        "cryptolabs-proxy",
        "watchtower",
    }
    published = {name for name, svc in services.items() if "ports" in svc}
    assert published == {"cryptolabs-proxy"}
    assert services["cryptolabs-proxy"]["ports"] == ["127.0.0.1:8080:80", "127.0.0.1:8443:443"]
    for name, service in services.items():
        assert not service["image"].endswith(":latest"), name
        assert ":" in service["image"], name
        assert service.get("networks") == ["cryptolabs"], name
    assert stack["networks"]["cryptolabs"]["name"] == "cryptolabs"
    command = services["prometheus"]["command"]
    assert "--web.route-prefix=/prometheus/" in command
    assert "--storage.tsdb.retention.time=15d" in command
    grafana_env = services["grafana"]["environment"]
    assert grafana_env["GF_SECURITY_ADMIN_PASSWORD__FILE"] == "/run/secrets/grafana_admin_password"
    assert not any("PASSWORD" in k and "FILE" not in k for k in grafana_env)
    assert services["watchtower"]["command"][0] == "--label-enable"


def test_reused_network_and_proxy_and_no_grafana(tmp_path: Path, config) -> None:
    shape = StackShape(include_proxy=False, include_grafana=False, network_external=True)
    stack = yaml.safe_load(render_compose(config, tmp_path, shape))
    assert set(stack["services"]) == {"dc-overview", "prometheus", "watchtower"}
    assert stack["networks"]["cryptolabs"] == {"name": "cryptolabs", "external": True}
    assert "secrets" not in stack


def test_host_and_container_render_the_same_prometheus_config(config) -> None:
    """The quickstart (host) and the app (container) must write identical prometheus.yml."""
    env = app_environment(config)
    on_host = render_prometheus_config(host_settings(config, Path("/srv/dco")))
    in_container = render_prometheus_config(
        load_settings(environ={**env, "DC_OVERVIEW_CONFIG_DIR": "/etc/dc-overview"})
    )
    assert on_host == in_container
    assert "/etc/prometheus/targets/node.json" in on_host
    assert 'credentials_file: "/etc/prometheus/metrics_token"' in on_host
    assert 'password_file: "/etc/prometheus/remote_write_password"' in on_host
    assert "dc-overview:5001" in on_host
