"""The alert rules: `promtool check rules` and `promtool test rules` on the rendered files.

The promtool unit tests (tests/rules/promtool/) hold, for every alert, a case that fires and
cases that stay quiet; a test below checks that no alert lacks either.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from dc_overview.exporters.gpu.metrics_table import EXPORTER_METRICS, all_metric_names
from dc_overview.prometheus.rules import Thresholds, render_rules, write_rules
from tests.grafana.promql import selectors
from tests.support.processes import require_binary

PROMTOOL_TESTS = Path(__file__).parent / "promtool"
CUSTOM = Thresholds(
    gpu_core_temp_c=70, gpu_hotspot_temp_c=90, gpu_vram_temp_c=90, disk_free_percent=25
)


def promtool(*args: str, cwd: Path) -> str:
    run = subprocess.run(
        [require_binary("promtool"), *args], cwd=cwd, capture_output=True, text=True, timeout=120
    )
    output = run.stdout + run.stderr
    assert run.returncode == 0, output
    return output


def rendered(tmp_path: Path, thresholds: Thresholds | None, *tests: str) -> Path:
    """The rule files in `tmp_path`, with the named promtool test files beside them."""
    write_rules(tmp_path, thresholds)
    for name in tests:
        shutil.copy(PROMTOOL_TESTS / name, tmp_path / name)
    return tmp_path


def alerts(thresholds: Thresholds | None = None) -> dict[str, dict]:
    found = {}
    for text in render_rules(thresholds).values():
        for group in yaml.safe_load(text)["groups"]:
            found.update({rule["alert"]: rule for rule in group["rules"]})
    return found


@pytest.mark.parametrize("thresholds", [None, CUSTOM], ids=["defaults", "custom"])
def test_promtool_check_rules(tmp_path: Path, thresholds: Thresholds | None) -> None:
    paths = write_rules(tmp_path, thresholds)
    output = promtool("check", "rules", *(str(p) for p in paths), cwd=tmp_path)
    assert output.count("SUCCESS") == len(paths)
    assert "FAILED" not in output


def test_promtool_unit_tests_with_the_default_thresholds(tmp_path: Path) -> None:
    folder = rendered(tmp_path, None, "gpu_test.yml", "hosts_test.yml")
    output = promtool("test", "rules", "gpu_test.yml", "hosts_test.yml", cwd=folder)
    assert output.count("SUCCESS") == 2, output


def test_promtool_unit_tests_with_custom_thresholds(tmp_path: Path) -> None:
    folder = rendered(tmp_path, CUSTOM, "custom_thresholds_test.yml")
    output = promtool("test", "rules", "custom_thresholds_test.yml", cwd=folder)
    assert "SUCCESS" in output


def test_the_default_unit_tests_fail_with_other_thresholds(tmp_path: Path) -> None:
    """The unit tests really look at the thresholds: they break when the rules change."""
    folder = rendered(tmp_path, CUSTOM, "gpu_test.yml")
    run = subprocess.run(
        [require_binary("promtool"), "test", "rules", "gpu_test.yml"],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode != 0
    assert "GpuCoreTemperatureHigh" in run.stdout + run.stderr


def test_every_alert_has_a_firing_and_a_quiet_case() -> None:
    firing: set[str] = set()
    quiet: set[str] = set()
    for path in PROMTOOL_TESTS.glob("*_test.yml"):
        for group in yaml.safe_load(path.read_text())["tests"]:
            for case in group.get("alert_rule_test", ()):
                (firing if case["exp_alerts"] else quiet).add(case["alertname"])
    names = set(alerts())
    assert names == firing, f"alerts without a firing case: {names - firing}"
    assert names <= quiet, f"alerts without a quiet case: {names - quiet}"


def test_every_rule_has_severity_and_text() -> None:
    for name, rule in alerts().items():
        assert rule["labels"]["severity"] in ("warning", "critical"), name
        assert rule["annotations"]["summary"] and rule["annotations"]["description"], name
        assert "{{ $labels.instance }}" in rule["annotations"]["summary"], name


def test_thresholds_are_rendered_into_the_expressions() -> None:
    rules = alerts(CUSTOM)
    assert rules["GpuCoreTemperatureHigh"]["expr"] == "DCGM_FI_DEV_GPU_TEMP > 70"
    assert rules["GpuHotspotTemperatureHigh"]["expr"] == "DCGM_FI_DEV_HOT_SPOT_TEMP > 90"
    assert rules["GpuVramTemperatureHigh"]["expr"] == "DCGM_FI_DEV_VRAM_TEMP > 90"
    assert "< 25" in rules["DiskAlmostFull"]["expr"]
    assert "> 85" in alerts()["GpuCoreTemperatureHigh"]["expr"]


def test_gpu_metric_names_come_from_the_exporter_table() -> None:
    known = set(all_metric_names())
    known |= {name + "_total" for name, kind, _ in EXPORTER_METRICS if kind == "counter"}
    for name, rule in alerts().items():
        for selector in selectors(rule["expr"]):
            metric = selector.split("{")[0]
            if metric.startswith(("DCGM_", "GPU_", "dc_exporter_")):
                assert metric in known, f"{name}: {metric} is not a dc-exporter metric"


def test_write_rules_is_atomic_and_idempotent(tmp_path: Path) -> None:
    first = write_rules(tmp_path / "rules")
    stamps = {path: path.stat().st_mtime_ns for path in first}
    again = write_rules(tmp_path / "rules")
    assert again == first
    assert {path: path.stat().st_mtime_ns for path in again} == stamps
    assert not list((tmp_path / "rules").glob(".*.tmp"))
    for path in first:
        assert path.stat().st_mode & 0o777 == 0o644
