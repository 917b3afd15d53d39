"""The generated dashboards: lossless through grafana-foundation-sdk's types, built from the
exporters' metric tables, one datasource, no hard-coded GPU count; written atomically."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from grafana_foundation_sdk.cog.plugins import register_default_plugins
from grafana_foundation_sdk.cog.runtime import UnknownDataquery
from grafana_foundation_sdk.models import prometheus as prometheus_models
from grafana_foundation_sdk.models.dashboard import Dashboard, Panel, RowPanel

from dc_overview.deploy.compose import GRAFANA_DATASOURCE_UID
from dc_overview.exporters.gpu.metrics_table import EXPORTER_METRICS, GPU_METRICS
from dc_overview.grafana.dashboards import DASHBOARDS, build_dashboards, gpu_detail, names
from dc_overview.grafana.dashboards.vastai import OCCUPANCY_WORDS
from dc_overview.grafana.provisioning import render_dashboards, write_dashboards
from dc_overview.prometheus.rules import Thresholds
from dc_overview.templating import render
from tests.grafana.promql import panel_queries, panels, selectors, variables

RENDERED = render_dashboards()


def loaded(name: str) -> dict:
    return json.loads(RENDERED[name])


@pytest.fixture(scope="module", autouse=True)
def sdk_plugins() -> None:
    register_default_plugins()  # the panel and query types from_json decodes into


@pytest.mark.parametrize("name", sorted(RENDERED))
def test_json_round_trips_through_the_sdk_types_without_loss(name: str) -> None:
    data = loaded(name)
    model = Dashboard.from_json(data)
    again = json.loads(json.dumps(model, default=lambda o: o.to_json()))
    assert again == data
    for panel in model.panels or ():
        inner = panel.panels if isinstance(panel, RowPanel) else [panel]
        for item in inner:
            assert isinstance(item, Panel)
            for target in item.targets or ():
                assert isinstance(target, prometheus_models.Dataquery), item.title
                assert not isinstance(target, UnknownDataquery)
            if item.options is not None:
                assert not isinstance(item.options, dict), f"{item.title}: untyped options"


@pytest.mark.parametrize("name", sorted(RENDERED))
def test_every_query_uses_the_provisioned_datasource(name: str) -> None:
    data = loaded(name)
    for panel in panels(data):
        if panel["type"] == "row":
            continue
        assert panel["datasource"] == {"type": "prometheus", "uid": GRAFANA_DATASOURCE_UID}
        for target in panel["targets"]:
            assert target["datasource"]["uid"] == GRAFANA_DATASOURCE_UID
    for variable in data["templating"]["list"]:
        assert variable["datasource"]["uid"] == GRAFANA_DATASOURCE_UID
    provisioned = yaml.safe_load(
        render(
            "grafana/datasource.yml.j2", uid=GRAFANA_DATASOURCE_UID, url="u", scrape_interval="5s"
        )
    )
    assert provisioned["datasources"][0]["uid"] == GRAFANA_DATASOURCE_UID


def test_uids_titles_and_panel_ids_are_unique() -> None:
    boards = [loaded(name) for name in RENDERED]
    assert len({b["uid"] for b in boards}) == len(boards) == len(DASHBOARDS)
    assert len({b["title"] for b in boards}) == len(boards)
    for board in boards:
        ids = [panel["id"] for panel in panels(board)]
        assert len(ids) == len(set(ids)) and all(ids), board["title"]
        assert all(len(b["uid"]) <= 40 for b in boards)
        assert board["schemaVersion"] >= 39


@pytest.mark.parametrize("name", sorted(RENDERED))
def test_panels_fit_the_grid(name: str) -> None:
    taken: set[tuple[int, int]] = set()
    for panel in panels(loaded(name)):
        pos = panel["gridPos"]
        assert pos["x"] >= 0 and pos["x"] + pos["w"] <= 24, f"{panel['title']}: {pos}"
        cells = {(x, y) for x in range(pos["x"], pos["x"] + pos["w"])
                 for y in range(pos["y"], pos["y"] + pos["h"])}  # fmt: skip
        assert not cells & taken, f"{panel['title']} overlaps another panel"
        taken |= cells


def test_gpu_detail_shows_every_metric_of_the_table() -> None:
    in_sections = [
        gpu_detail.full_name(short) for _, group in gpu_detail.SECTIONS for short in group
    ]
    assert sorted(in_sections) == sorted(spec.name for spec in GPU_METRICS)
    shown = gpu_detail.exporter_metrics_shown() | set(gpu_detail.EXPORTER_LEFT_OUT)
    assert shown == {name for name, _, _ in EXPORTER_METRICS}
    exprs = " ".join(expr for _, expr in panel_queries(loaded("dc-overview-gpu.json")))
    for spec in GPU_METRICS:
        assert spec.name + "{" in exprs


def test_units_and_titles_come_from_the_help_texts() -> None:
    by_name = {spec.name: spec for spec in GPU_METRICS}
    assert gpu_detail.title_and_unit(by_name["DCGM_FI_DEV_GPU_TEMP"]) == (
        "GPU temperature",
        "celsius",
    )
    assert gpu_detail.title_and_unit(by_name["DCGM_FI_DEV_POWER_USAGE"])[1] == "watt"
    assert gpu_detail.title_and_unit(by_name["DCGM_FI_DEV_FB_USED"])[1] == "mbytes"
    assert gpu_detail.title_and_unit(by_name["DCGM_FI_DEV_VRAM_TEMP"]) == (
        "VRAM temperature",
        "celsius",
    )
    assert gpu_detail.title_and_unit(by_name["GPU_ERROR_STATE"]) == ("GPU state", "short")


def test_metric_names_exist_in_the_exporters() -> None:
    gpu_names = set(names.GPU_SPECS) | set(names.EXPORTER_NAMES.values())
    for name in RENDERED:
        for where, expr in panel_queries(loaded(name)):
            for selector in selectors(expr.replace("$__rate_interval", "1m")):
                metric = selector.split("{")[0]
                if metric.startswith(("DCGM_", "GPU_", "dc_exporter_")):
                    assert metric in gpu_names, f"{name} {where}: {metric}"
                elif metric.startswith("vast"):
                    assert metric in names.VAST_NAMES, f"{name} {where}: {metric}"
                else:
                    assert metric.startswith("node_") or metric == "up", f"{where}: {metric}"


def test_a_renamed_metric_breaks_generation(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delitem(names.GPU_SPECS, "DCGM_FI_DEV_HOT_SPOT_TEMP")
    with pytest.raises(KeyError, match="DCGM_FI_DEV_HOT_SPOT_TEMP"):
        build_dashboards()
    with pytest.raises(KeyError):
        names.vast("vast_machine_listed")


def test_no_gpu_count_is_hard_coded() -> None:
    fleet = loaded("dc-overview-fleet.json")
    repeated = [p for p in panels(fleet) if p["type"] == "row" and p.get("repeat") == "server"]
    assert len(repeated) == 1
    assert [v[0] for v in variables(fleet)] == ["server"]
    detail = loaded("dc-overview-gpu.json")
    assert [v[0] for v in variables(detail)] == ["server", "gpu"]
    for name in RENDERED:
        for where, expr in panel_queries(loaded(name)):
            assert 'gpu="' not in expr and 'gpu=~"0' not in expr, f"{name} {where}: {expr}"


def test_every_gpu_table_has_one_column_per_reading() -> None:
    fleet = loaded("dc-overview-fleet.json")
    table = next(p for p in panels(fleet) if p["title"] == "Every GPU")
    assert [step["id"] for step in table["transformations"]] == ["merge", "organize"]
    assert all(t["instant"] and t["format"] == "table" for t in table["targets"])
    assert all(t["expr"].startswith("max by (instance, gpu, modelName)") for t in table["targets"])


def test_thresholds_colour_the_fleet_overview() -> None:
    board = json.loads(render_dashboards(Thresholds(gpu_core_temp_c=77))["dc-overview-fleet.json"])
    hottest = next(p for p in panels(board) if p["title"] == "Hottest core")
    steps = hottest["fieldConfig"]["defaults"]["thresholds"]["steps"]
    assert steps == [
        {"color": "green", "value": None},
        {"color": "orange", "value": 67},
        {"color": "red", "value": 77},
    ]


def test_occupancy_words_follow_the_exporter() -> None:
    board = loaded("dc-overview-vastai.json")
    timeline = next(p for p in panels(board) if p["title"] == "GPU occupancy")
    options = timeline["fieldConfig"]["defaults"]["mappings"][0]["options"]
    assert {o["text"] for o in options.values()} == {w for w, _ in OCCUPANCY_WORDS.values()}
    assert set(options) == {"0", "1", "2", "3"}


def test_write_dashboards_atomically_and_only_our_files(tmp_path: Path) -> None:
    folder = tmp_path / "dashboards"
    folder.mkdir()
    (folder / "dc-overview-retired.json").write_text("{}")
    (folder / "my-own.json").write_text("{}")
    written = write_dashboards(folder)
    assert sorted(p.name for p in written) == sorted(DASHBOARDS)
    assert not (folder / "dc-overview-retired.json").exists()
    assert (folder / "my-own.json").exists()
    stamps = {p: p.stat().st_mtime_ns for p in written}
    write_dashboards(folder)
    assert {p: p.stat().st_mtime_ns for p in written} == stamps  # unchanged: not rewritten
    for path in written:
        assert path.stat().st_mode & 0o777 == 0o644
        assert json.loads(path.read_text())["uid"]
    assert not list(folder.glob(".*.tmp"))
