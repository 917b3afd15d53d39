"""The dashboard's view of the fleet: three Prometheus queries for all servers, joined in memory.

The cost does not grow with the fleet in round trips: the queries are made once per page and
their answers are turned into dictionaries keyed by the `instance` label (the server name).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from dc_overview.inventory.models import Server
from dc_overview.prometheus.client import PrometheusClient, PrometheusUnavailable
from dc_overview.prometheus.targets import JOB_BY_EXPORTER, JOBS

UP_QUERY = 'up{job=~"' + "|".join(JOBS) + '"}'
GPU_COUNT_QUERY = "count by (instance) (DCGM_FI_DEV_GPU_TEMP)"
GPU_HOTTEST_QUERY = "max by (instance) (DCGM_FI_DEV_GPU_TEMP)"
JOBS_BY_KIND = tuple(JOB_BY_EXPORTER.items())


@dataclass
class FleetMetrics:
    """What Prometheus says about the fleet, or why it could not say anything."""

    reachable: bool = True
    error: str | None = None
    up: dict[tuple[str, str], float] = field(default_factory=dict)
    gpu_count: dict[str, int] = field(default_factory=dict)
    gpu_hottest: dict[str, float] = field(default_factory=dict)


@dataclass
class ServerRow:
    """One dashboard line: the server and, per job, "up", "down", "no data", "unknown" or None."""

    server: Server
    jobs: dict[str, str | None]
    gpu_count: int | None
    gpu_hottest: float | None

    @property
    def health(self) -> str:
        """The server at a glance, from its scraped exporters: "up" (all), "degraded" (some),
        "down", "unknown" (Prometheus unreachable), "no data" or "not monitored" (none)."""
        states = [state for state in self.jobs.values() if state is not None]
        if not states:
            return "not monitored"
        for verdict, test in (("up", all), ("degraded", any)):
            if test(state == "up" for state in states):
                return verdict
        for verdict in ("down", "unknown"):
            if verdict in states:
                return verdict
        return "no data"


@dataclass
class Dashboard:
    rows: list[ServerRow]
    metrics: FleetMetrics
    summary: dict[str, int]


def fetch_metrics(client: PrometheusClient) -> FleetMetrics:
    """Three instant queries; the first failure stops the rest (Prometheus is down)."""
    try:
        up = client.query(UP_QUERY)
        counts = client.query(GPU_COUNT_QUERY)
        hottest = client.query(GPU_HOTTEST_QUERY)
    except PrometheusUnavailable as exc:
        return FleetMetrics(reachable=False, error=str(exc))
    return FleetMetrics(
        up={(s.get("instance", ""), s.get("job", "")): s["value"] for s in up},
        gpu_count={s.get("instance", ""): int(s["value"]) for s in counts},
        gpu_hottest={s.get("instance", ""): s["value"] for s in hottest},
    )


def job_state(server: Server, job: str, kind: str, metrics: FleetMetrics) -> str | None:
    """None when the exporter is not scraped; otherwise what Prometheus reports."""
    exporter = server.exporter(kind)
    if exporter is None or not exporter.scraped:
        return None
    if not metrics.reachable:
        return "unknown"
    value = metrics.up.get((server.name, job))
    if value is None:
        return "no data"
    return "up" if value >= 1 else "down"


def build_dashboard(servers: list[Server], client: PrometheusClient) -> Dashboard:
    metrics = fetch_metrics(client)
    rows = [
        ServerRow(
            server=server,
            jobs={job: job_state(server, job, kind, metrics) for kind, job in JOBS_BY_KIND},
            gpu_count=metrics.gpu_count.get(server.name),
            gpu_hottest=metrics.gpu_hottest.get(server.name),
        )
        for server in servers
    ]
    return Dashboard(rows=rows, metrics=metrics, summary=_summary(rows))


def _summary(rows: list[ServerRow]) -> dict[str, int]:
    states = [state for row in rows for state in row.jobs.values() if state is not None]
    return {
        "servers": len(rows),
        "up": states.count("up"),
        "down": states.count("down"),
        "gpus": sum(row.gpu_count or 0 for row in rows),
    }
