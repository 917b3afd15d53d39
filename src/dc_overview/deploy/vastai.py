"""The stack's own vastai-exporter: its config section, its secret copy and its scrape target.

The operator names a 0600 file of `name:key` (or `key`) lines; the quickstart validates it, copies
it to `<config dir>/secrets/vastai_api_keys` (0600) and mounts that copy read-only into the
`vastai-exporter` container. The keys never enter `quickstart.yaml`, the compose file, an
environment value or a command line. Prometheus scrapes the container in the `vastai` job through
a target file of its own (`targets/vastai.stack.json`) that the inventory writer never touches.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from dc_overview.alerting.receivers import check_secret_file
from dc_overview.exporters.vastai.client import DEFAULT_API_URL, KeyFileError, load_accounts
from dc_overview.fsutil import atomic_write, ensure_private_dir
from dc_overview.inventory.models import EXPORTER_KINDS
from dc_overview.prometheus.targets import JOB_BY_EXPORTER, STACK_FILES, host_port

SERVICE = "vastai-exporter"
PORT = EXPORTER_KINDS["vastai"]
KEYS_SECRET = "vastai_api_keys"
KEYS_VIEW = f"/run/secrets/{KEYS_SECRET}"
JOB = JOB_BY_EXPORTER["vastai"]


def check_api_keys_file(value: str) -> str:
    """A 0600 file (absolute path) that holds at least one well-formed `name:key` or `key` line."""
    check_secret_file(value)
    try:
        load_accounts(value)
    except KeyFileError as exc:
        raise ValueError(
            f"{exc}; write one 'name:key' (or bare 'key') line per Vast.ai account, names of "
            "letters, digits, '.', '_' or '-' and unique ('#' starts a comment)"
        ) from None
    return value


class VastaiConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    api_keys_file: Annotated[str, AfterValidator(check_api_keys_file)] | None = Field(
        None,
        description="Absolute path to a file (0600) of `name:key` (or bare `key`) lines, one per "
        "Vast.ai account. Set: the stack runs `vastai-exporter` with a 0600 copy of it "
        "(`secrets/vastai_api_keys`, mounted read-only); unset: no Vast.ai exporter.",
    )
    cache_seconds: Annotated[int, Field(ge=10, le=3600)] = Field(
        60, description="Seconds between two reads of the Vast.ai API (scrapes never wait for it)."
    )
    earnings_days: Annotated[int, Field(ge=1, le=365)] = Field(
        30, description="Earnings window in days."
    )
    api_url: Annotated[str, Field(pattern=r"^https?://[^\s/]+(/\S*)?$")] = Field(
        DEFAULT_API_URL,
        description="Base address of the Vast.ai API; change it only for a proxy in between or "
        "for tests.",
    )

    @property
    def enabled(self) -> bool:
        return self.api_keys_file is not None


def exporter_command(config: VastaiConfig) -> list[str]:
    """The container's arguments: the key file is the mounted copy; no key on the command line."""
    return [
        "--listen", f":{PORT}",
        "--api-keys-file", KEYS_VIEW,
        "--cache-seconds", str(config.cache_seconds),
        "--earnings-days", str(config.earnings_days),
        "--api-url", config.api_url,
    ]  # fmt: skip


def stack_targets(config: VastaiConfig) -> list[dict]:
    """The file_sd groups for the stack's exporter: one target when configured, else none."""
    if not config.enabled:
        return []
    return [{"targets": [host_port(SERVICE, PORT)], "labels": {"instance": SERVICE}}]


def write_vastai_files(config: VastaiConfig, config_dir: Path, targets_dir: Path) -> None:
    """Copy the keys (0600, atomic) or remove a stale copy; write the stack's target file."""
    secret = ensure_private_dir(config_dir / "secrets") / KEYS_SECRET
    if config.api_keys_file is None:
        secret.unlink(missing_ok=True)
    else:
        atomic_write(secret, Path(config.api_keys_file).read_bytes(), mode=0o600)
    groups = stack_targets(config)
    atomic_write(targets_dir / STACK_FILES[JOB], json.dumps(groups, indent=2) + "\n")
