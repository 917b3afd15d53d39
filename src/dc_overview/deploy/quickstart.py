"""The quickstart: plan (plain data) from a config and what is detected, then one apply."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from dc_overview.deploy import builds
from dc_overview.deploy.compose import (
    COMPOSE_FILE,
    DEFAULT_SUBNET,
    GRAFANA_DATASOURCE_UID,
    ComposeProject,
    StackShape,
    host_settings,
    write_compose,
)
from dc_overview.deploy.config import QuickstartConfig, load_config_file
from dc_overview.deploy.detect import Detection, detect
from dc_overview.deploy.health import Progress, wait_healthy
from dc_overview.deploy.secrets import SecretsReport, apply_ownership, provision_secrets
from dc_overview.fsutil import atomic_write
from dc_overview.prometheus.config import write_prometheus_config
from dc_overview.prometheus.targets import JOBS
from dc_overview.templating import render

SAVED_CONFIG = "quickstart.yaml"
Say = Callable[[str], None]


@dataclass
class Plan:
    config: QuickstartConfig
    config_dir: Path
    detection: Detection
    shape: StackShape
    to_build: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    pull: bool = True

    @property
    def project(self) -> ComposeProject:
        return ComposeProject(self.config.docker.project_name, self.config_dir / COMPOSE_FILE)

    @property
    def services(self) -> list[str]:
        names = ["dc-overview", "prometheus"]
        if self.shape.include_grafana:
            names.append("grafana")
        if self.shape.include_proxy:
            names.append("cryptolabs-proxy")
        return names


def saved_config(config_dir: Path) -> QuickstartConfig | None:
    path = config_dir / SAVED_CONFIG
    return load_config_file(path) if path.exists() else None


def make_plan(config: QuickstartConfig, config_dir: Path, pull: bool = True) -> Plan:
    """Decide what to reuse, build and leave out; changes nothing."""
    found = detect(config.docker.network)
    project = config.docker.project_name
    shape = StackShape(
        include_proxy=not found.proxy_is_foreign(project),
        include_grafana=config.grafana.enabled,
        network_external=found.network_is_foreign(project),
        subnet=config.docker.network_subnet or found.network_subnet or DEFAULT_SUBNET,
    )
    plan = Plan(config, config_dir, found, shape, pull=pull)
    _plan_images(plan, pull)
    if found.network_is_foreign(project):
        plan.notes.append(f"reusing the existing Docker network {config.docker.network!r}")
    if found.proxy_is_foreign(project):
        plan.notes.append("reusing the running cryptolabs-proxy (IPMI Monitor's)")
    if found.ipmi_monitor:
        plan.notes.append("IPMI Monitor found: it will appear on the landing page at /ipmi/")
    return plan


def _plan_images(plan: Plan, pull: bool) -> None:
    images = plan.config.images
    available = builds.pull_or_none if pull else builds.image_exists
    if not available(images.dc_overview):
        plan.to_build.append("dc_overview")
    if plan.shape.include_proxy and not available(images.proxy):
        plan.to_build.append("proxy")
    if not available(images.prometheus):
        local = builds.OFFLINE_TAGS["prometheus"]
        if builds.image_exists(local):
            images.prometheus = local
        else:
            plan.to_build.append("prometheus")
    if plan.shape.include_grafana and not available(images.grafana):
        plan.shape.include_grafana = False
        plan.notes.append(
            f"Grafana is not available: {images.grafana} cannot be pulled and cannot be built "
            "offline. The stack runs without it; run the quickstart again once it can be pulled."
        )


def apply(plan: Plan, say: Say, progress: Progress | None = None) -> SecretsReport:
    """Build what is missing, write every file, start the stack and wait until it is healthy."""
    _build_missing(plan, say)
    config_dir = plan.config_dir
    config_dir.mkdir(parents=True, exist_ok=True)
    report = provision_secrets(plan.config, config_dir)
    _write_files(plan)
    apply_ownership(config_dir)
    say("starting the stack (docker compose up)")
    plan.project.run("up", "-d", "--remove-orphans")
    wait_healthy(plan.services, progress=progress)
    return report


def _build_missing(plan: Plan, say: Say) -> None:
    if not plan.to_build:
        return
    base = builds.ensure_base_image(pull=plan.pull)
    if "dc_overview" in plan.to_build:
        builds.build_app_image(plan.config.images.dc_overview, base, say)
    if "proxy" in plan.to_build:
        builds.build_proxy_image(plan.config.images.proxy, base, say)
    if "prometheus" in plan.to_build:
        built = builds.build_debian_image("prometheus", base, say)
        plan.config.images.prometheus = built.tag


def _write_files(plan: Plan) -> None:
    config, config_dir = plan.config, plan.config_dir
    atomic_write(
        config_dir / SAVED_CONFIG, yaml.safe_dump(config.without_secrets(), sort_keys=False)
    )
    settings = host_settings(config, config_dir)
    write_prometheus_config(settings)
    for job in JOBS:
        target_file = settings.targets_dir / f"{job}.json"
        if not target_file.exists():
            atomic_write(target_file, "[]\n")
    _write_grafana_provisioning(config, config_dir)
    write_compose(config, config_dir, plan.shape)


def _write_grafana_provisioning(config: QuickstartConfig, config_dir: Path) -> None:
    provisioning = config_dir / "grafana" / "provisioning"
    (config_dir / "grafana" / "dashboards").mkdir(parents=True, exist_ok=True)
    datasource = render(
        "grafana/datasource.yml.j2",
        uid=GRAFANA_DATASOURCE_UID,
        url="http://prometheus:9090/prometheus",
        scrape_interval=config.prometheus.scrape_interval,
    )
    atomic_write(provisioning / "datasources" / "prometheus.yml", datasource)
    atomic_write(provisioning / "dashboards" / "dc-overview.yml", render("grafana/dashboards.yml"))
