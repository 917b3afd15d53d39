"""The exporters DC Overview knows: port, Prometheus job, and who installs them."""

from __future__ import annotations

from dc_overview.inventory.models import EXPORTER_KINDS
from dc_overview.prometheus.targets import JOB_BY_EXPORTER
from dc_overview.reference.markdown import code, table
from dc_overview.remote.catalog import DEFAULT_KINDS, INSTALLABLE, NOT_INSTALLED_HERE

HEADERS = ("kind", "port", "Prometheus job", "installed on workers by `dc-overview deploy`")


def _how(kind: str) -> str:
    spec = INSTALLABLE.get(kind)
    if spec is None:
        return "no: " + NOT_INSTALLED_HERE.get(kind, "not installable from here")
    default = " (default)" if kind in DEFAULT_KINDS else ""
    gpu = ", GPU servers only" if spec.needs_gpu else ""
    if getattr(spec, "container", False):
        where = f"Docker container {code(spec.container_name)}"
    else:
        where = f"systemd unit {code(spec.unit)}, user {code(spec.user)}, in {code(spec.base_dir)}"
    return f"yes{default}{gpu}: {spec.title} as {where}"


def render_catalog() -> str:
    """One row per exporter kind of the inventory."""
    rows = [
        (code(kind), port, code(JOB_BY_EXPORTER[kind]), _how(kind))
        for kind, port in EXPORTER_KINDS.items()
    ]
    return table(HEADERS, rows) + "\n"
