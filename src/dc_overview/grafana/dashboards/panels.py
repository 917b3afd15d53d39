"""Thin helpers over grafana-foundation-sdk's builders: one datasource, one look everywhere."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from grafana_foundation_sdk.builders import common as common_builders
from grafana_foundation_sdk.builders import dashboard as dash
from grafana_foundation_sdk.builders import prometheus, stat, statetimeline, table, timeseries
from grafana_foundation_sdk.cog.builder import Builder
from grafana_foundation_sdk.models import common
from grafana_foundation_sdk.models.dashboard import Dashboard as DashboardModel
from grafana_foundation_sdk.models.dashboard import (
    DashboardCursorSync,
    DashboardLinkType,
    DataSourceRef,
    DataTransformerConfig,
    DynamicConfigValue,
    Panel,
    RowPanel,
    Threshold,
    ThresholdsMode,
    ValueMap,
    ValueMappingResult,
    VariableRefresh,
    VariableSort,
)
from grafana_foundation_sdk.models.prometheus import PromQueryFormat

# The datasource the provisioning file declares (deploy.compose.GRAFANA_DATASOURCE_UID).
DATASOURCE_UID = "prometheus"
DATASOURCE = DataSourceRef(type_val="prometheus", uid=DATASOURCE_UID)
TAG = "dc-overview"
REFS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"

Steps = Iterable[tuple[float | None, str]]


def dashboard(uid: str, title: str, description: str) -> dash.Dashboard:
    """A dashboard with the house defaults: 6 h, 30 s refresh, shared crosshair, links."""
    links = (
        dash.DashboardLink("DC Overview")
        .type(DashboardLinkType.DASHBOARDS)
        .tags([TAG])
        .as_dropdown(True)
        .include_vars(False)
        .keep_time(True)
    )
    return (
        dash.Dashboard(title)
        .uid(uid)
        .description(description)
        .tags([TAG])
        .time("now-6h", "now")
        .refresh("30s")
        .timezone("browser")
        .tooltip(DashboardCursorSync.CROSSHAIR)
        .link(links)
    )


def query(expr: str, legend: str = "", ref: str = "A", *, table_format: bool = False):
    """A Prometheus query; `table_format` makes it an instant query returned as a table."""
    target = prometheus.Dataquery().expr(expr).ref_id(ref).datasource(DATASOURCE)
    if legend:
        target = target.legend_format(legend)
    if table_format:
        target = target.instant().format(PromQueryFormat.TABLE)
    return target


def thresholds(steps: Steps) -> dash.ThresholdsConfig:
    return (
        dash.ThresholdsConfig()
        .mode(ThresholdsMode.ABSOLUTE)
        .steps([Threshold(value=value, color=color) for value, color in steps])
    )


def value_text(mapping: Mapping[int, tuple[str, str]]) -> list[ValueMap]:
    """Numbers shown as words: {value: (text, color)}."""
    options = {
        str(value): ValueMappingResult(text=text, color=color, index=index)
        for index, (value, (text, color)) in enumerate(mapping.items())
    }
    return [ValueMap(options=options)]


def _legend(placement: common.LegendPlacement) -> common_builders.VizLegendOptions:
    return (
        common_builders.VizLegendOptions()
        .display_mode(common.LegendDisplayMode.LIST)
        .placement(placement)
        .show_legend(True)
    )


def graph(title: str, unit: str, *targets, description: str = "", span: int = 8):
    """A time series panel, one line per series."""
    panel = (
        timeseries.Panel()
        .title(title)
        .description(description)
        .datasource(DATASOURCE)
        .unit(unit)
        .line_width(1)
        .fill_opacity(10)
        .span(span)
        .height(8)
        .legend(_legend(common.LegendPlacement.BOTTOM))
    )
    for target in targets:
        panel = panel.with_target(target)
    return panel


def single(title: str, unit: str, target, steps: Steps = ((None, "green"),), span: int = 4):
    """A stat panel showing the last value."""
    reduce = common_builders.ReduceDataOptions().calcs(["lastNotNull"]).values(False)
    return (
        stat.Panel()
        .title(title)
        .datasource(DATASOURCE)
        .unit(unit)
        .with_target(target)
        .thresholds(thresholds(steps))
        .color_mode(common.BigValueColorMode.BACKGROUND)
        .graph_mode(common.BigValueGraphMode.NONE)
        .reduce_options(reduce)
        .span(span)
        .height(4)
    )


def states(title: str, target, mapping: Mapping[int, tuple[str, str]], span: int = 12):
    """A state timeline: a band per series, values shown as words."""
    return (
        statetimeline.Panel()
        .title(title)
        .datasource(DATASOURCE)
        .with_target(target)
        .mappings(value_text(mapping))
        .thresholds(thresholds([(None, "green")]))
        .show_value(common.VisibilityMode.AUTO)
        .fill_opacity(70)
        .line_width(0)
        .span(span)
        .height(8)
        .legend(_legend(common.LegendPlacement.BOTTOM))
    )


def _table(title: str, span: int, height: int) -> table.Panel:
    return (
        table.Panel()
        .title(title)
        .datasource(DATASOURCE)
        .align(common.FieldTextAlignment.AUTO)
        .inspect(False)
        .span(span)
        .height(height)
    )


def merged_table(title: str, columns: list[tuple[str, str, str]], by: str, span: int = 24):
    """One row per label set of `by`, one column per (header, unit, expression)."""
    panel = _table(title, span, 10).with_transformation(
        DataTransformerConfig(id_val="merge", options={})
    )
    renames = {}
    for ref, (header, unit, expr) in zip(REFS, columns, strict=False):
        panel = panel.with_target(query(f"max by ({by}) ({expr})", ref=ref, table_format=True))
        field = f"Value #{ref}"
        renames[field] = header
        panel = panel.override_by_name(field, [DynamicConfigValue(id_val="unit", value=unit)])
    organize = {"excludeByName": {"Time": True}, "renameByName": renames}
    return panel.with_transformation(DataTransformerConfig(id_val="organize", options=organize))


def info_table(title: str, expr: str, span: int = 12):
    """The labels of the series of `expr`, one row each (build info, error reasons)."""
    organize = {"excludeByName": {"Time": True, "Value": True, "__name__": True}}
    return (
        _table(title, span, 6)
        .with_target(query(expr, table_format=True))
        .with_transformation(DataTransformerConfig(id_val="organize", options=organize))
    )


def variable(name: str, label: str, values_of: str, *, multi: bool = True):
    """A query variable over `label_values(...)`, refreshed with the time range."""
    var = (
        dash.QueryVariable(name)
        .label(label)
        .datasource(DATASOURCE)
        .query({"query": values_of, "refId": f"var-{name}"})
        .refresh(VariableRefresh.ON_TIME_RANGE_CHANGED)
        .sort(VariableSort.NATURAL_ASC)
        .multi(multi)
        .include_all(multi)
    )
    return var


def row(title: str, repeat: str = "") -> dash.Row:
    result = dash.Row(title)
    return result.repeat(repeat) if repeat else result


def build(board: dash.Dashboard, items: Iterable[Builder]) -> DashboardModel:
    """Add rows and panels in order and give every panel a unique id."""
    for item in items:
        board = board.with_row(item) if isinstance(item, dash.Row) else board.with_panel(item)
    model = board.build()
    for number, panel in enumerate(model.panels or (), start=1):
        if isinstance(panel, Panel | RowPanel):
            panel.id_val = number
    return model
