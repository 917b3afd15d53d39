"""docs/index.md's generated sections match the code, and cover every config key and metric."""

from __future__ import annotations

from pathlib import Path

import pytest

from dc_overview.deploy.config import QuickstartConfig
from dc_overview.exporters.gpu.metrics_table import all_metric_names
from dc_overview.exporters.vastai.metrics import (
    ACCOUNT_METRICS,
    EARNINGS_METRICS,
    MACHINE_METRICS,
    PER_MACHINE_EARNINGS,
)
from dc_overview.reference import __main__ as cli
from dc_overview.reference.blocks import MissingBlock, read_blocks, replace_blocks, wrap
from dc_overview.reference.config import config_rows
from dc_overview.reference.sections import REFRESH_COMMAND, SECTIONS, render_sections

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs" / "index.md"


@pytest.fixture(scope="module")
def blocks() -> dict[str, str]:
    return read_blocks(DOCS.read_text())


def test_every_generated_block_exists(blocks: dict[str, str]) -> None:
    missing = sorted(set(SECTIONS) - set(blocks))
    assert not missing, f"docs/index.md lacks the generated blocks {missing}"


@pytest.mark.parametrize("name", sorted(SECTIONS))
def test_generated_block_is_current(blocks: dict[str, str], name: str) -> None:
    expected = render_sections()[name]
    assert blocks.get(name) == expected, (
        f"the {name!r} section of docs/index.md is out of date with the code; "
        f"run `{REFRESH_COMMAND}` from the repository root and commit docs/index.md"
    )


def _dotted_keys(model: type, prefix: str = "") -> list[str]:
    keys = []
    for name, field in model.model_fields.items():
        key = prefix + (field.alias or name)
        keys.append(key)
        for candidate in getattr(field.annotation, "__args__", ()) or (field.annotation,):
            if isinstance(candidate, type) and hasattr(candidate, "model_fields"):
                keys += _dotted_keys(candidate, key + ".")
    return keys


def test_every_config_key_is_documented_with_a_meaning(blocks: dict[str, str]) -> None:
    keys = _dotted_keys(QuickstartConfig)
    assert {"proxy.bind_address", "alerts.alertmanager.email.from"} <= set(keys)
    config_block = blocks["config"]
    undocumented = [key for key in keys if f"| `{key}` |" not in config_block]
    assert not undocumented, f"config keys missing from docs/index.md: {undocumented}"
    without_meaning = [row[0] for row in config_rows() if not row[3].strip()]
    assert not without_meaning, (
        f"give these keys a Field(description=...) in the schema: {without_meaning}"
    )


def test_config_defaults_in_the_docs_are_the_schema_defaults(blocks: dict[str, str]) -> None:
    defaults, config = QuickstartConfig(), blocks["config"]
    assert f"| `proxy.bind_address` | string | `{defaults.proxy.bind_address}` |" in config
    assert "| `prometheus.retention` | string, matching " in config
    assert f"| `{defaults.prometheus.retention}` |" in config


def test_every_metric_is_documented(blocks: dict[str, str]) -> None:
    gpu_block = blocks["dc-exporter-metrics"]
    for name in all_metric_names():
        assert f"`{name}" in gpu_block, f"dc-exporter metric {name} missing from docs/index.md"
    vast_tables = (MACHINE_METRICS, ACCOUNT_METRICS, EARNINGS_METRICS, PER_MACHINE_EARNINGS)
    vast_block = blocks["vastai-exporter-metrics"]
    for row in (row for table in vast_tables for row in table):
        assert f"`{row[0]}`" in vast_block, f"vastai-exporter metric {row[0]} missing"
    assert "`vastai_exporter_api_errors_total`" in vast_block  # counters as scrapes show them


def test_exporter_catalog_lists_every_kind_and_port(blocks: dict[str, str]) -> None:
    from dc_overview.inventory.models import EXPORTER_KINDS

    for kind, port in EXPORTER_KINDS.items():
        assert f"| `{kind}` | {port} |" in blocks["exporters"]


def test_api_table_lists_every_openapi_operation(blocks: dict[str, str]) -> None:
    from dc_overview.web.api.openapi import document

    for path, methods in document()["paths"].items():
        for method in methods:
            assert f"| {method.upper()} | `{path}` |" in blocks["api"]


def test_replace_blocks_keeps_prose_and_refuses_a_missing_block() -> None:
    text = "\n".join(("intro", wrap("a", "old"), "middle", wrap("b", "keep"), "end")) + "\n"
    new = replace_blocks(text, {"a": "new"})
    assert read_blocks(new) == {"a": "new\n", "b": "keep\n"}
    assert new.startswith("intro\n") and "\nmiddle\n" in new and new.endswith("\nend\n")
    with pytest.raises(MissingBlock, match="c"):
        replace_blocks(text, {"c": "x"})


def test_check_command_names_the_refresh_command(tmp_path: Path, capsys) -> None:
    stale = tmp_path / "index.md"
    stale.write_text("\n".join(wrap(name, "stale\n") for name in SECTIONS) + "\n")
    assert cli.main([str(stale)]) == 1
    assert REFRESH_COMMAND in capsys.readouterr().out
    assert cli.main(["--write", str(stale)]) == 0
    assert cli.main([str(stale)]) == 0
    assert read_blocks(stale.read_text()) == render_sections()
