"""The quickstart's configuration: one schema for the wizard and for `--config FILE`.

Errors name the key and, for a file, its line. Secrets are never part of this file once saved:
passwords given here are moved into `<config dir>/secrets/` and dropped from the saved copy.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator
from pydantic import ValidationError as PydanticValidationError

from dc_overview import __version__
from dc_overview.alerting.receivers import AlertsConfig
from dc_overview.deploy.vastai import VastaiConfig
from dc_overview.inventory.errors import FieldError, ValidationFailed
from dc_overview.inventory.validation import Name, Port, check_address
from dc_overview.settings import duration_seconds

Retention = Annotated[str, Field(pattern=r"^[1-9][0-9]*(h|d|w|y)$")]
Interval = Annotated[str, AfterValidator(lambda v: duration_seconds(v) and v)]
ImageRef = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9._/:-]*:[A-Za-z0-9._-]+$")]


def _no_latest(value: str) -> str:
    if value.endswith(":latest"):
        raise ValueError("pin a version instead of ':latest'")
    return value


Image = Annotated[ImageRef, AfterValidator(_no_latest)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class AdminConfig(Strict):
    username: Name = Field("admin", description="User name of the web app's first admin.")
    password: Annotated[str, Field(min_length=10, max_length=256)] | None = Field(
        None,
        description="The admin's password; generated when unset. Moved into "
        "`secrets/admin_password` (0600), never saved in `quickstart.yaml`; an existing "
        "password is kept.",
    )


class ProxyConfig(Strict):
    # Safe by default: reachable from this host only until the operator names an address
    # (the wizard asks; 0.0.0.0 or the LAN address opens it to other machines).
    bind_address: Annotated[str, AfterValidator(check_address)] = Field(
        "127.0.0.1",
        description="Host address the proxy's ports are published on: 127.0.0.1 keeps them "
        "reachable from this host only; 0.0.0.0 or a LAN address opens them to other machines.",
    )
    http_port: Port = Field(80, description="Host port for HTTP.")
    https_port: Port = Field(443, description="Host port for HTTPS.")


class TlsConfig(Strict):
    mode: Literal["self-signed", "own", "letsencrypt"] = Field(
        "self-signed",
        description="The proxy's certificate: made by the proxy (`self-signed`), your own files "
        "(`own`: cert_file, key_file) or issued by Let's Encrypt (`letsencrypt`: domain, email).",
    )
    cert_file: str | None = Field(
        None, description="mode `own`: certificate file (PEM), copied into the proxy's secrets."
    )
    key_file: str | None = Field(
        None, description="mode `own`: private key file (PEM), copied into the proxy's secrets."
    )
    domain: str | None = Field(
        None, description="mode `letsencrypt`: the domain name the certificate is issued for."
    )
    email: str | None = Field(None, description="mode `letsencrypt`: contact e-mail address.")

    @model_validator(mode="after")
    def _complete(self) -> TlsConfig:
        if self.mode == "own" and not (self.cert_file and self.key_file):
            raise ValueError("mode 'own' needs cert_file and key_file")
        for path in (self.cert_file, self.key_file) if self.mode == "own" else ():
            if not Path(path or "").is_file():
                raise ValueError(f"{path} does not exist or is not a file")
        if self.mode == "letsencrypt" and not (self.domain and self.email):
            raise ValueError("mode 'letsencrypt' needs domain and email")
        return self


class RemoteWrite(Strict):
    url: Annotated[str, Field(pattern=r"^https?://\S+$")] = Field(
        description="Remote-write endpoint, e.g. VictoriaMetrics' `/api/v1/write`."
    )
    username: str | None = Field(None, description="Basic-auth user name.")
    password_file: str | None = Field(
        None,
        description="File holding the basic-auth password (used with username); copied (0600) "
        "for Prometheus, never written into a config file.",
    )


class PrometheusConfig(Strict):
    retention: Retention = Field(
        "30d", description="How long Prometheus keeps samples (hours, days, weeks or years)."
    )
    scrape_interval: Interval = Field(
        "5s", description="How often every target is scraped: a duration like 5s, 1m or 2h."
    )
    remote_write: RemoteWrite | None = Field(
        None, description="Also send every sample to a remote-write endpoint (scaling out)."
    )


class GrafanaConfig(Strict):
    enabled: bool = Field(
        True, description="Run Grafana; it is left out when its image cannot be pulled."
    )
    admin_password: Annotated[str, Field(min_length=8, max_length=256)] | None = Field(
        None,
        description="Grafana's admin password; generated when unset. Moved into "
        "`secrets/grafana_admin_password` (0600), never saved in `quickstart.yaml`.",
    )


class ImagesConfig(Strict):
    dc_overview: Image = Field(
        f"ghcr.io/cryptolabsza/dc-overview:{__version__}",
        description="The app; built here from the installed package when it cannot be pulled.",
    )
    proxy: Image = Field(
        f"ghcr.io/cryptolabsza/cryptolabs-proxy:{__version__}",
        description="cryptolabs-proxy; built here from the installed package when it cannot be "
        "pulled.",
    )
    prometheus: Image = Field(
        "prom/prometheus:v2.53.2",
        description="Prometheus; built from Debian's package when it cannot be pulled.",
    )
    grafana: Image = Field(
        "grafana/grafana-oss:11.2.2",
        description="Grafana; cannot be built here, so the stack runs without it when it cannot "
        "be pulled.",
    )
    watchtower: Image = Field(
        "containrrr/watchtower:1.7.1", description="Watchtower (with `docker.watchtower`)."
    )
    # 0.26 or later: receivers read their secrets from files (bot_token_file, url_file).
    alertmanager: Image = Field(
        "prom/alertmanager:v0.28.1",
        description="Alertmanager (runs when a receiver is configured); 0.26 or later.",
    )


class ArtifactsConfig(Strict):
    node_exporter: Literal["bundled", "download"] = Field(
        "bundled",
        description="What the app pushes to workers as node_exporter: `bundled` is Debian's build "
        "inside the app image (works without internet); `download` is the pinned upstream "
        "release, fetched once and checked against its sha256sums. A binary in "
        "`<config dir>/artifacts/`, or `dc-overview deploy --node-exporter PATH`, takes "
        "precedence.",
    )


class DockerConfig(Strict):
    project_name: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$")] = Field(
        "dc-overview", description="Docker Compose project name."
    )
    network: Annotated[str, Field(pattern=r"^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}$")] = Field(
        "cryptolabs",
        description="Bridge network shared with IPMI Monitor; an existing one is reused.",
    )
    network_subnet: str | None = Field(
        None,
        description="Subnet (CIDR) for the network when the quickstart creates it; unset: the "
        "existing network's, else 172.31.77.0/24.",
    )
    watchtower: bool = Field(
        False,
        description="Run Watchtower, which updates the stack's containers (label-enabled only) "
        "once a day.",
    )


class QuickstartConfig(Strict):
    site_name: Annotated[str, Field(min_length=1, max_length=80)] = Field(
        "DC Overview", description="Name of this site, shown by the app and the landing page."
    )
    admin: AdminConfig = Field(
        default_factory=AdminConfig, description="The web app's first admin account."
    )
    proxy: ProxyConfig = Field(
        default_factory=ProxyConfig,
        description="cryptolabs-proxy, the only container that publishes ports.",
    )
    tls: TlsConfig = Field(default_factory=TlsConfig, description="HTTPS at the proxy.")
    prometheus: PrometheusConfig = Field(
        default_factory=PrometheusConfig,
        description="Prometheus: retention, scraping, remote write.",
    )
    grafana: GrafanaConfig = Field(
        default_factory=GrafanaConfig,
        description="Grafana, served at /grafana/ with a provisioned datasource and dashboards.",
    )
    images: ImagesConfig = Field(
        default_factory=ImagesConfig,
        description="Container images, each pinned to a version (`:latest` is refused).",
    )
    docker: DockerConfig = Field(
        default_factory=DockerConfig, description="Docker Compose project and network."
    )
    artifacts: ArtifactsConfig = Field(
        default_factory=ArtifactsConfig, description="Files the master pushes to workers."
    )
    # Alert thresholds and, optionally, Alertmanager receivers (their secrets as file paths).
    alerts: AlertsConfig = Field(
        default_factory=AlertsConfig,
        description="Alert rule thresholds and, optionally, Alertmanager receivers.",
    )
    vastai: VastaiConfig = Field(
        default_factory=VastaiConfig,
        description="The stack's Vast.ai exporter: balance, machines and earnings of your "
        "Vast.ai accounts (runs only with `api_keys_file` set).",
    )
    # With IPMI Monitor on this host: import its servers and SSH keys once the stack is up.
    import_from_ipmi: bool = Field(
        False,
        description="With IPMI Monitor on this host: import its servers and SSH keys once the "
        "stack is up.",
    )

    def without_secrets(self) -> dict[str, Any]:
        """What is saved as `quickstart.yaml`: everything but the passwords.

        Images left at their defaults are not saved, so that after a package upgrade the saved
        config names the new version's images (`dc-overview upgrade`, a quickstart re-run).
        """
        data = self.model_dump(mode="json")
        data["admin"].pop("password", None)
        data["grafana"].pop("admin_password", None)
        data["images"] = self.images.model_dump(mode="json", exclude_defaults=True)
        if not data["images"]:
            del data["images"]
        return data


def _key_lines(node: yaml.Node, path: tuple = ()) -> dict[tuple, int]:
    """Map every key path in a YAML document to its 1-based line."""
    lines: dict[tuple, int] = {}
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = (*path, key_node.value)
            lines[key] = key_node.start_mark.line + 1
            lines.update(_key_lines(value_node, key))
    return lines


def parse_config(data: Any, lines: dict[tuple, int] | None = None) -> QuickstartConfig:
    """Validate plain data; every error names the key (and its line when known)."""
    if not isinstance(data, dict):
        raise ValidationFailed.single("config", "must be a mapping of keys to values")
    try:
        return QuickstartConfig.model_validate(data)
    except PydanticValidationError as exc:
        raise ValidationFailed([_located(err, lines or {}) for err in exc.errors()]) from None


def _located(error: dict, lines: dict[tuple, int]) -> FieldError:
    loc = tuple(str(part) for part in error["loc"])
    key = ".".join(loc) or "config"
    line = next((lines[loc[:n]] for n in range(len(loc), 0, -1) if loc[:n] in lines), None)
    message = error["msg"].removeprefix("Value error, ")
    if error["type"] == "extra_forbidden":
        message = "unknown key; check its spelling against the documented keys"
    elif error["type"] == "missing":
        message = "is required"
    return FieldError(f"{key} (line {line})" if line else key, message)


def load_config_file(path: Path) -> QuickstartConfig:
    """Read and validate a YAML config file."""
    try:
        text = path.read_text()
    except OSError as exc:
        raise ValidationFailed.single(str(path), f"cannot read: {exc.strerror}") from None
    try:
        node = yaml.compose(text)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark else "somewhere"
        raise ValidationFailed.single(str(path), f"not valid YAML ({where})") from None
    return parse_config(data if data is not None else {}, _key_lines(node) if node else {})
