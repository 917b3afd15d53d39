"""Finding IPMI Monitor: mounted into our container, in Docker, or installed natively.

`root` stands for `/` so that tests can lay out a fake filesystem; Docker is asked only for the
real root (or through an `inspect` function the caller passes).
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from dc_overview.deploy.engine import DockerError, docker

CONTAINER = "ipmi-monitor"
DATA_VOLUME = "ipmi-monitor-data"
DB_FILE = "ipmi_events.db"
SERVERS_FILES = ("servers.yaml", "servers.yml")
# Inside IPMI Monitor's container.
CONTAINER_DATA, CONTAINER_CONFIG, CONTAINER_KEYS = "/app/data", "/app/config", "/app/ssh_keys"
# Where our compose file mounts IPMI Monitor's data, read-only, into the dc-overview container.
MOUNTED_DATA = "/ipmi-monitor-data"
NATIVE_DATA, NATIVE_CONFIG = "/var/lib/ipmi-monitor", "/etc/ipmi-monitor"
SYSTEMD_UNIT = "/etc/systemd/system/ipmi-monitor.service"

Inspect = Callable[[str, str], dict | None]


@dataclass(frozen=True)
class IpmiInstallation:
    """Where an IPMI Monitor keeps its database, `servers.yaml` and `ssh_keys/`."""

    how: str  # "mounted", "docker" or "native"
    database: Path | None
    servers_file: Path | None = None
    ssh_keys_dir: Path | None = None
    data_volume: str | None = None
    data_dir: Path | None = None

    @property
    def data_source(self) -> str | None:
        """What to mount into the dc-overview container: a Docker volume name or a host folder."""
        if self.data_volume:
            return self.data_volume
        return str(self.data_dir) if self.data_dir and self.database else None


def docker_inspect(kind: str, name: str) -> dict | None:
    """`docker KIND inspect NAME`, or None when Docker or the object is not there."""
    try:
        return json.loads(docker([kind, "inspect", name], timeout=15))[0]
    except (DockerError, OSError, ValueError, IndexError, subprocess.TimeoutExpired):
        return None


def detect_ipmi_monitor(
    root: Path = Path("/"), inspect: Inspect | None = None
) -> IpmiInstallation | None:
    """The first installation found, or None; Docker is consulted only for the real root."""
    if inspect is None and root == Path("/"):
        inspect = docker_inspect
    return _mounted(root) or (_docker(root, inspect) if inspect else None) or _native(root)


def _at(root: Path, path: str | Path) -> Path:
    return root / str(path).lstrip("/")


def _existing(candidates: Iterable[Path | None], want_dir: bool = False) -> Path | None:
    for path in candidates:
        if path is not None and (path.is_dir() if want_dir else path.is_file()):
            return path
    return None


def _servers_file(folders: Iterable[Path | None]) -> Path | None:
    return _existing(f / name for f in folders if f is not None for name in SERVERS_FILES)


def _mounted(root: Path) -> IpmiInstallation | None:
    database = _at(root, MOUNTED_DATA) / DB_FILE
    return IpmiInstallation("mounted", database) if database.is_file() else None


def _docker(root: Path, inspect: Inspect) -> IpmiInstallation | None:
    info = inspect("container", CONTAINER)
    mounts = {m["Destination"]: m for m in (info or {}).get("Mounts") or [] if m.get("Source")}

    def source(destination: str) -> Path | None:
        mount = mounts.get(destination)
        return _at(root, mount["Source"]) if mount else None

    data = mounts.get(CONTAINER_DATA, {})
    volume = data.get("Name") if data.get("Type") == "volume" else None
    data_dir = source(CONTAINER_DATA)
    if info is None:
        found = inspect("volume", DATA_VOLUME)
        if not found or not found.get("Mountpoint"):
            return None
        volume, data_dir = DATA_VOLUME, _at(root, found["Mountpoint"])
    native = _at(root, NATIVE_CONFIG)
    servers_file = _existing([source(f"{CONTAINER_CONFIG}/servers.yaml")]) or _servers_file(
        [source(CONTAINER_CONFIG), native]
    )
    keys_dir = _existing([source(CONTAINER_KEYS), native / "ssh_keys"], want_dir=True)
    database = data_dir / DB_FILE if data_dir else None
    return IpmiInstallation("docker", database, servers_file, keys_dir, volume, data_dir)


def _unit_dirs(root: Path) -> dict[str, Path]:
    """DATA_DIR, CONFIG_DIR, IPMI_MONITOR_CONFIG and WorkingDirectory of a native systemd unit."""
    try:
        text = _at(root, SYSTEMD_UNIT).read_text()
    except OSError:
        return {}
    found: dict[str, Path] = {}
    for line in text.splitlines():
        key, _, value = line.strip().partition("=")
        if key == "WorkingDirectory" and value:
            found["WorkingDirectory"] = _at(root, value)
        elif key == "Environment":
            name, _, path = value.strip("\"'").partition("=")
            if name in ("DATA_DIR", "CONFIG_DIR", "IPMI_MONITOR_CONFIG") and path:
                found[name] = _at(root, path.strip("\"'"))
    return found


def _native(root: Path) -> IpmiInstallation | None:
    unit = _unit_dirs(root)
    data_dirs = [unit.get("DATA_DIR"), _at(root, NATIVE_DATA), unit.get("IPMI_MONITOR_CONFIG"),
                 unit.get("WorkingDirectory")]  # fmt: skip
    config_dirs = [unit.get("CONFIG_DIR"), unit.get("IPMI_MONITOR_CONFIG"),
                   _at(root, NATIVE_CONFIG), *data_dirs]  # fmt: skip
    database = _existing(d / DB_FILE for d in data_dirs if d is not None)
    servers_file = _servers_file(config_dirs)
    keys_dir = _existing((d / "ssh_keys" for d in config_dirs if d is not None), want_dir=True)
    if not (database or servers_file or keys_dir):
        return None
    return IpmiInstallation(
        "native",
        database=database,
        servers_file=servers_file,
        ssh_keys_dir=keys_dir,
        data_dir=database.parent if database else None,
    )
