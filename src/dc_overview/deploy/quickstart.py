"""The quickstart: plan (plain data) from a config and what is detected, then one apply."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from dc_overview.alerting.config import give_to, remove_alertmanager, write_alertmanager
from dc_overview.deploy import builds, vastai
from dc_overview.deploy.compose import (
    ALERTMANAGER_UID,
    COMPOSE_FILE,
    DEFAULT_SUBNET,
    GRAFANA_DATASOURCE_UID,
    IPMI_MONITOR_VIEW,
    ComposeProject,
    StackShape,
    host_settings,
    write_compose,
)
from dc_overview.deploy.config import QuickstartConfig, load_config_file
from dc_overview.deploy.detect import Detection, detect
from dc_overview.deploy.engine import DockerError, docker
from dc_overview.deploy.health import Progress, wait_healthy
from dc_overview.deploy.secrets import SecretsReport, apply_ownership, provision_secrets
from dc_overview.fsutil import atomic_write
from dc_overview.grafana.provisioning import write_dashboards
from dc_overview.interop.detect import DB_FILE, detect_ipmi_monitor
from dc_overview.prometheus.config import write_prometheus_config
from dc_overview.prometheus.rules import write_rules
from dc_overview.prometheus.targets import JOBS
from dc_overview.templating import render

SAVED_CONFIG = "quickstart.yaml"
APP_CONTAINER = "dc-overview"
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
        if self.config.alerts.alertmanager_enabled:
            names.append("alertmanager")
        if self.config.vastai.enabled:
            names.append(vastai.SERVICE)
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
    if config.import_from_ipmi:
        plan_ipmi_import(plan, ipmi_monitor_source())
    return plan


def ipmi_monitor_source() -> str | None:
    """IPMI Monitor's data on this host (volume or folder) when it has a database to import."""
    installation = detect_ipmi_monitor()
    return installation.data_source if installation else None


def plan_ipmi_import(plan: Plan, source: str | None) -> None:
    """Mount IPMI Monitor's data read-only into the app, where the import runs after start-up."""
    if source is None:
        plan.notes.append(
            "import_from_ipmi: no IPMI Monitor database on this host; nothing to import"
        )
        return
    plan.shape.ipmi_monitor_data = source
    plan.notes.append(f"IPMI Monitor's servers and SSH keys will be imported (from {source})")


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
    give_to(config_dir / "alertmanager", ALERTMANAGER_UID)
    say("starting the stack (docker compose up)")
    plan.project.run("up", "-d", "--remove-orphans")
    wait_healthy(plan.services, progress=progress)
    _reload_alerting(plan)
    if plan.shape.ipmi_monitor_data:
        report.notes.extend(import_from_ipmi_monitor(say))
    return report


def import_from_ipmi_monitor(say: Say) -> list[str]:
    """Run the import inside the app container (its database is there); notes on the result."""
    say("importing servers and SSH keys from IPMI Monitor")
    database = f"{IPMI_MONITOR_VIEW}/{DB_FILE}"
    command = ["exec", APP_CONTAINER, "dc-overview", "import", "ipmi-monitor", "--db", database,
               "--json"]  # fmt: skip
    try:
        report = json.loads(docker(command, timeout=300))
    except (DockerError, ValueError, subprocess.TimeoutExpired) as exc:
        retry = f"docker exec {APP_CONTAINER} dc-overview import ipmi-monitor --db {database}"
        return [f"the import from IPMI Monitor failed ({exc}); retry with `{retry}`"]
    counts = ", ".join(f"{n} {result}" for result, n in report["counts"].items() if n)
    notes = [f"IPMI Monitor import: {counts or 'nothing found'}"]
    for outcome in report["outcomes"]:
        if outcome["result"] in ("held", "skipped"):
            notes.append(f"{outcome['kind']} {outcome['name']} {outcome['result']}: "
                         f"{outcome['reason']}")  # fmt: skip
    return notes


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
    vastai.write_vastai_files(config.vastai, config_dir, settings.targets_dir)
    _write_grafana_provisioning(config, config_dir)
    _write_monitoring(config, config_dir, settings.prometheus_dir / "rules")
    write_compose(config, config_dir, plan.shape)


def _write_monitoring(config: QuickstartConfig, config_dir: Path, rules_dir: Path) -> None:
    """Alert rules, the dashboards and, with receivers, Alertmanager's config and secrets."""
    thresholds = config.alerts.thresholds.to_thresholds()
    write_rules(rules_dir, thresholds)
    write_dashboards(config_dir / "grafana" / "dashboards", thresholds)
    if config.alerts.alertmanager is not None and config.alerts.alertmanager_enabled:
        write_alertmanager(config.alerts.alertmanager, config_dir / "alertmanager")
    else:
        remove_alertmanager(config_dir / "alertmanager")


def _reload_alerting(plan: Plan) -> None:
    """Running containers keep old rules until told: a re-run reloads them (SIGHUP)."""
    services = ["prometheus"] + (["alertmanager"] if "alertmanager" in plan.services else [])
    plan.project.run("kill", "-s", "SIGHUP", *services)


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
