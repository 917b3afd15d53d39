"""The quickstart's config: bad files refused whole (key and line named), before anything runs."""

from pathlib import Path

import pytest
from click.testing import CliRunner

from dc_overview import __version__
from dc_overview.cli import main
from dc_overview.deploy.config import (
    ImagesConfig,
    QuickstartConfig,
    load_config_file,
    parse_config,
)
from dc_overview.inventory.errors import ValidationFailed

BAD_FILES = [
    ("site_name: X\ncolour: red\n", "colour (line 2)", "unknown key"),
    ("proxy:\n  http_port: 0\n", "proxy.http_port (line 2)", "greater than or equal to 1"),
    ("proxy:\n  https_port: 70000\n", "proxy.https_port (line 2)", "less than or equal"),
    ("proxy:\n  https_port: '443'\n", "proxy.https_port (line 2)", "valid integer"),
    ("proxy:\n  bind_address: 999.1.1.1\n", "proxy.bind_address (line 2)", "IPv4"),
    ("prometheus:\n  retention: forever\n", "prometheus.retention (line 2)", "pattern"),
    ("images:\n  grafana: grafana/grafana:latest\n", "images.grafana (line 2)", "pin a version"),
    ("tls:\n  mode: letsencrypt\n", "tls (line 1)", "needs domain and email"),
    ("grafana:\n  enabled: 'yes'\n", "grafana.enabled (line 2)", "valid boolean"),
    ("- just\n- a list\n", "config", "mapping"),
]


@pytest.mark.parametrize("text, key, message", BAD_FILES)
def test_bad_config_names_key_and_line(tmp_path: Path, text: str, key: str, message: str) -> None:
    path = tmp_path / "quickstart.yaml"
    path.write_text(text)
    with pytest.raises(ValidationFailed) as caught:
        load_config_file(path)
    fields = caught.value.fields()
    assert key in fields, fields
    assert message in fields[key]


def test_malformed_yaml_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "quickstart.yaml"
    path.write_text("site_name: X\nproxy: [unclosed\n")
    with pytest.raises(ValidationFailed, match="not valid YAML"):
        load_config_file(path)


def test_cli_refuses_bad_config_before_touching_anything(tmp_path: Path) -> None:
    path = tmp_path / "quickstart.yaml"
    path.write_text("proxy:\n  http_port: 0\n  colour: red\n")
    config_dir = tmp_path / "config"
    result = CliRunner().invoke(
        main, ["--config-dir", str(config_dir), "quickstart", "--config", str(path), "--yes"]
    )
    assert result.exit_code == 2
    assert "proxy.http_port (line 2)" in result.output
    assert "proxy.colour (line 3)" in result.output
    assert "Nothing was changed" in result.output
    assert not config_dir.exists()


def test_saved_config_has_no_secrets() -> None:
    config = QuickstartConfig.model_validate(
        {"admin": {"password": "operator-secret-1"}, "grafana": {"admin_password": "graf-secret"}}
    )
    saved = str(config.without_secrets())
    assert "operator-secret-1" not in saved and "graf-secret" not in saved


def test_saved_config_leaves_default_images_to_the_installed_version() -> None:
    """A saved config must not pin this version's images, or an upgrade would keep them."""
    config = QuickstartConfig.model_validate({"images": {"grafana": "grafana/grafana-oss:11.3.0"}})
    saved = config.without_secrets()
    assert saved["images"] == {"grafana": "grafana/grafana-oss:11.3.0"}
    reloaded = parse_config(saved)
    assert reloaded.images.dc_overview == ImagesConfig().dc_overview
    assert reloaded.images.dc_overview.endswith(f":{__version__}")
    assert reloaded.images.grafana == "grafana/grafana-oss:11.3.0"
    assert "images" not in QuickstartConfig().without_secrets()
