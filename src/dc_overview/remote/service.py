"""Deploy jobs started from the web API: validated request, background thread, stored progress."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

from pydantic import Field, field_validator

from dc_overview.inventory.errors import ValidationFailed
from dc_overview.inventory.validation import StrictModel, parse
from dc_overview.remote.catalog import DEFAULT_KINDS, INSTALLABLE, NOT_INSTALLED_HERE
from dc_overview.remote.installer import DeployOptions, run_job
from dc_overview.remote.jobs import Job, JobStore
from dc_overview.services import Services

KNOWN_KINDS = (*INSTALLABLE, *NOT_INSTALLED_HERE)


class ExportersInstall(StrictModel):
    servers: list[str] = Field(default_factory=list, max_length=5000)
    all: bool = False
    exporters: list[str] = Field(default_factory=lambda: list(DEFAULT_KINDS), min_length=1)
    remove: bool = False
    parallel: int = Field(default=32, ge=1, le=256)

    @field_validator("exporters")
    @classmethod
    def _known(cls, value: list[str]) -> list[str]:
        unknown = [kind for kind in value if kind not in KNOWN_KINDS]
        if unknown:
            raise ValueError(f"unknown exporter {unknown[0]!r}; known: {', '.join(KNOWN_KINDS)}")
        return value


def job_store(services: Services) -> JobStore:
    return JobStore(services.settings.data_dir / "jobs")


def local_node_exporter_dir(services: Services) -> Path | None:
    """node_exporter dropped in <config dir>/artifacts, else the configured local one (the app
    image bundles Debian's: DC_OVERVIEW_NODE_EXPORTER); None: the pinned download."""
    folder = services.settings.config_dir / "artifacts"
    if folder.is_dir():
        return folder
    return services.settings.node_exporter_source


def start_job(services: Services, data: dict) -> Job:
    """Validate, create the job, run it in a background thread; returns at once."""
    spec = parse(ExportersInstall, data)
    if spec.all == bool(spec.servers):
        raise ValidationFailed.single("servers", "name servers, or send all: true (not both)")
    names = [s.name for s in services.fleet.list_servers()] if spec.all else spec.servers
    for name in names:
        services.fleet.find_by_name(name)  # NotFound -> 404 naming the server
    if not names:
        raise ValidationFailed.single("servers", "the inventory has no servers")
    options = DeployOptions(
        kinds=tuple(spec.exporters),
        remove=spec.remove,
        parallel=spec.parallel,
        node_exporter_source=local_node_exporter_dir(services),
    )
    job = job_store(services).attach(Job.create("remove" if spec.remove else "deploy", names))
    thread = threading.Thread(
        target=lambda: asyncio.run(run_job(services, job, options)),
        name=f"deploy-{job.id}",
        daemon=True,
    )
    thread.start()
    return job
