"""The CLI: same validation as the API, secrets never on the command line."""

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from dc_overview.cli import main


@pytest.fixture
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("DC_OVERVIEW_PROMETHEUS_URL", "http://127.0.0.1:1/prometheus")
    dirs = ["--config-dir", str(tmp_path / "config"), "--data-dir", str(tmp_path / "data")]
    runner = CliRunner()

    def invoke(*args: str, stdin: str | None = None):
        return runner.invoke(main, [*dirs, *args], input=stdin)

    return invoke


def test_servers_add_list_show_remove(run, tmp_path: Path) -> None:
    added = run("servers", "add", "gpu-01", "--ip", "10.0.0.1", "--label", "rack=A1",
                "--installed", "node", "--gpu")  # fmt: skip
    assert added.exit_code == 0, added.output
    assert "Added server gpu-01" in added.output
    listed = json.loads(run("servers", "list", "--json").output)
    assert listed[0]["labels"] == {"rack": "A1"}
    assert listed[0]["exporters"]["node"]["installed"] is True
    assert "gpu-01" in run("servers", "list").output
    assert json.loads(run("servers", "show", "gpu-01").output)["server_ip"] == "10.0.0.1"
    node = json.loads((tmp_path / "config/prometheus/targets/node.json").read_text())
    assert node[0]["labels"]["instance"] == "gpu-01"

    assert run("servers", "remove", "gpu-01", "--yes").exit_code == 0
    assert json.loads(run("servers", "list", "--json").output) == []
    assert json.loads((tmp_path / "config/prometheus/targets/node.json").read_text()) == []


def test_invalid_server_names_the_field_and_changes_nothing(run) -> None:
    result = run("servers", "add", "gpu-01", "--ip", "10.0.0.999", "--ssh-port", "70000")
    assert result.exit_code == 2
    assert "server_ip" in result.output and "ssh_port" in result.output
    assert "Nothing was changed" in result.output
    assert json.loads(run("servers", "list", "--json").output) == []


def test_unknown_server_is_a_clean_error(run) -> None:
    result = run("servers", "remove", "nope", "--yes")
    assert result.exit_code == 1
    assert "no server named 'nope'" in result.output


def test_keys_generate_import_list(run, tmp_path: Path) -> None:
    generated = run("keys", "generate", "fleet")
    assert generated.exit_code == 0, generated.output
    assert "ssh-ed25519 " in generated.output
    again = run("keys", "import", "copy", "--file", str(tmp_path / "config/ssh_keys/fleet"))
    assert again.exit_code == 2
    assert "already stored as 'fleet'" in again.output
    assert "fleet" in run("keys", "list").output


def test_users_create_reads_password_from_stdin(run) -> None:
    created = run("users", "create", "ops", "--role", "admin", "--password-stdin",
                  stdin="a-long-password\n")  # fmt: skip
    assert created.exit_code == 0, created.output
    assert "a-long-password" not in created.output
    short = run("users", "create", "ops2", "--password-stdin", stdin="short\n")
    assert short.exit_code == 2
    assert "password" in short.output
    assert "ops" in run("users", "list").output


def test_tokens_create_and_revoke(run) -> None:
    created = run("tokens", "create", "script", "--user", "admin")
    assert created.exit_code == 0, created.output
    assert created.output.strip().splitlines()[-1].startswith("dco_")
    assert run("tokens", "revoke", "1").exit_code == 0
    assert "yes" in run("tokens", "list").output


def test_render_prometheus(run, tmp_path: Path) -> None:
    result = run("render", "prometheus")
    assert result.exit_code == 0, result.output
    text = (tmp_path / "config/prometheus/prometheus.yml").read_text()
    assert "targets/dc-exporter.json" in text
    unreachable = run("render", "prometheus", "--reload")
    assert unreachable.exit_code == 1
    assert "--web.enable-lifecycle" in unreachable.output


def test_bad_environment_setting_is_a_usage_error(run, monkeypatch) -> None:
    monkeypatch.setenv("DC_OVERVIEW_SCRAPE_INTERVAL", "fast")
    result = run("servers", "list")
    assert result.exit_code == 2
    assert "must look like 5s" in result.output
