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
    username: Name = "admin"
    password: Annotated[str, Field(min_length=10, max_length=256)] | None = None


class ProxyConfig(Strict):
    # Safe by default: reachable from this host only until the operator names an address
    # (the wizard asks; 0.0.0.0 or the LAN address opens it to other machines).
    bind_address: Annotated[str, AfterValidator(check_address)] = "127.0.0.1"
    http_port: Port = 80
    https_port: Port = 443


class TlsConfig(Strict):
    mode: Literal["self-signed", "own", "letsencrypt"] = "self-signed"
    cert_file: str | None = None
    key_file: str | None = None
    domain: str | None = None
    email: str | None = None

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
    url: Annotated[str, Field(pattern=r"^https?://\S+$")]
    username: str | None = None
    password_file: str | None = None


class PrometheusConfig(Strict):
    retention: Retention = "30d"
    scrape_interval: Interval = "5s"
    remote_write: RemoteWrite | None = None


class GrafanaConfig(Strict):
    enabled: bool = True
    admin_password: Annotated[str, Field(min_length=8, max_length=256)] | None = None


class ImagesConfig(Strict):
    dc_overview: Image = f"ghcr.io/cryptolabsza/dc-overview:{__version__}"
    proxy: Image = f"ghcr.io/cryptolabsza/cryptolabs-proxy:{__version__}"
    prometheus: Image = "prom/prometheus:v2.53.2"
    grafana: Image = "grafana/grafana-oss:11.2.2"
    watchtower: Image = "containrrr/watchtower:1.7.1"
    # 0.26 or later: receivers read their secrets from files (bot_token_file, url_file).
    alertmanager: Image = "prom/alertmanager:v0.28.1"


class ArtifactsConfig(Strict):
    # What the app pushes to workers as node_exporter: "bundled" is Debian's build inside the app
    # image (works without internet); "download" is the pinned upstream release, fetched once and
    # checked against its sha256sums. A binary in <config dir>/artifacts/ always wins.
    node_exporter: Literal["bundled", "download"] = "bundled"


class DockerConfig(Strict):
    project_name: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$")] = "dc-overview"
    network: Annotated[str, Field(pattern=r"^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}$")] = "cryptolabs"
    network_subnet: str | None = None
    watchtower: bool = False


class QuickstartConfig(Strict):
    site_name: Annotated[str, Field(min_length=1, max_length=80)] = "DC Overview"
    admin: AdminConfig = Field(default_factory=AdminConfig)
    proxy: ProxyConfig = Field(default_factory=ProxyConfig)
    tls: TlsConfig = Field(default_factory=TlsConfig)
    prometheus: PrometheusConfig = Field(default_factory=PrometheusConfig)
    grafana: GrafanaConfig = Field(default_factory=GrafanaConfig)
    images: ImagesConfig = Field(default_factory=ImagesConfig)
    docker: DockerConfig = Field(default_factory=DockerConfig)
    artifacts: ArtifactsConfig = Field(default_factory=ArtifactsConfig)
    # Alert thresholds and, optionally, Alertmanager receivers (their secrets as file paths).
    alerts: AlertsConfig = Field(default_factory=AlertsConfig)
    # With IPMI Monitor on this host: import its servers and SSH keys once the stack is up.
    import_from_ipmi: bool = False

    def without_secrets(self) -> dict[str, Any]:
        """What is saved as `quickstart.yaml`: everything but the passwords."""
        data = self.model_dump(mode="json")
        data["admin"].pop("password", None)
        data["grafana"].pop("admin_password", None)
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
