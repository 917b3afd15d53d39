"""On a master set up by the quickstart, inventory commands go to the app container."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from dc_overview.cli import main
from dc_overview.cli.instack import (
    Stack,
    StackUnreachable,
    container_args,
    stack_for,
)


@pytest.fixture
def stack_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in ("DC_OVERVIEW_DATA", "DATABASE_URL", "DC_OVERVIEW_CONFIG_DIR"):
        monkeypatch.delenv(name, raising=False)
    config_dir = tmp_path / "config"
    (config_dir / "artifacts").mkdir(parents=True)
    (config_dir / "quickstart.yaml").write_text("site_name: X\n")
    return config_dir


def test_inventory_commands_go_to_the_stack(stack_dir: Path) -> None:
    for command in ("servers", "keys", "users", "tokens", "hosts", "deploy", "import", "render"):
        assert stack_for(command, stack_dir, None) == Stack(stack_dir.resolve()), command
    for command in ("quickstart", "status", "down", "upgrade", "serve", "images"):
        assert stack_for(command, stack_dir, None) is None, command


def test_an_explicit_database_or_no_stack_keeps_the_command_here(
    stack_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert stack_for("servers", stack_dir, tmp_path / "data") is None
    assert stack_for("servers", tmp_path / "elsewhere", None) is None
    monkeypatch.setenv("DATABASE_URL", "sqlite:////tmp/x.db")
    assert stack_for("servers", stack_dir, None) is None


def test_paths_under_the_config_dir_are_translated(stack_dir: Path) -> None:
    binary = stack_dir / "artifacts" / "node_exporter"
    binary.write_text("#!/bin/sh\n")
    stack = Stack(stack_dir.resolve())
    args = ["gpu-01", "--node-exporter", str(binary), f"--dcgm-tarball={binary}", "--all"]
    assert container_args(stack, args) == [
        "gpu-01", "--node-exporter", "/etc/dc-overview/artifacts/node_exporter",
        "--dcgm-tarball=/etc/dc-overview/artifacts/node_exporter", "--all",
    ]  # fmt: skip


def test_a_path_the_container_cannot_see_is_refused_with_the_fix(
    stack_dir: Path, tmp_path: Path
) -> None:
    outside = tmp_path / "node_exporter"
    outside.write_text("#!/bin/sh\n")
    with pytest.raises(StackUnreachable) as caught:
        container_args(Stack(stack_dir.resolve()), ["--node-exporter", str(outside)])
    message = caught.value.message
    assert str(outside) in message and str(stack_dir.resolve() / "artifacts") in message


def test_cli_refuses_when_no_app_container_serves_the_stack(stack_dir: Path) -> None:
    """Never a second, empty database next to the stack's: a clear error instead."""
    result = CliRunner().invoke(main, ["--config-dir", str(stack_dir), "servers", "list"])
    assert result.exit_code == 1, result.output
    assert "keeps its inventory in the dc-overview container" in result.output
    assert "--data-dir" in result.output
    assert not (stack_dir / "fleet.db").exists()
