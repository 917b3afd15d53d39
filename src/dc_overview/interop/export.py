"""`fleet_config.yaml`: our fleet for IPMI Monitor to read, rewritten after every change.

The format is the one IPMI Monitor's quickstart reads (`--config`): global `ssh` settings
(`username`, `port`, `key_path`) and `servers` (`name`, `server_ip`, `bmc_ip`); a server whose
SSH settings differ from the global ones carries its own `ssh_user`, `ssh_port` and `ssh_key`
(a key path). Key paths only, never key contents, so the file is 0644.
"""

from __future__ import annotations

import fcntl
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from dc_overview.fsutil import atomic_write
from dc_overview.inventory.keys import KeyService
from dc_overview.inventory.views import ServerView

FLEET_CONFIG = "fleet_config.yaml"
HEADER = (
    "# Written by DC Overview after every change to its inventory; edits are overwritten.\n"
    "# Read by IPMI Monitor: `ipmi-monitor quickstart --config` or interop/ipmi_side.py.\n"
    "# Key paths only, never key contents.\n"
)
Ssh = tuple[str, int, str | None]
OVERRIDES = ("ssh_user", "ssh_port", "ssh_key")  # a server's own values, when not the global


def _ssh_of(server: ServerView, key_paths: dict[int, str]) -> Ssh:
    key = key_paths.get(server.ssh_key_id) if server.ssh_key_id is not None else None
    return server.ssh_user, server.ssh_port, key


def _most_common(settings: list[Ssh]) -> Ssh:
    """Per setting (user, port, key), the value most servers have; a tie goes to the first."""
    if not settings:
        return "root", 22, None
    users, ports, keys = zip(*settings, strict=True)

    def mode(column: tuple) -> Any:
        return Counter(column).most_common(1)[0][0]

    return mode(users), mode(ports), mode(keys)


def fleet_config(servers: Iterable[ServerView], key_paths: dict[int, str]) -> dict[str, Any]:
    """The document as plain data; the most common value of each SSH setting is the global one."""
    ordered = sorted(servers, key=lambda s: s.name)
    settings = [_ssh_of(s, key_paths) for s in ordered]
    common = _most_common(settings)
    entries = []
    for server, ssh in zip(ordered, settings, strict=True):
        entry: dict[str, Any] = {
            "name": server.name,
            "server_ip": server.server_ip,
            "bmc_ip": server.bmc_ip,
        }
        for field, value, default in zip(OVERRIDES, ssh, common, strict=True):
            if value != default:
                entry[field] = value
        entries.append(entry)
    return {
        "ssh": {"username": common[0], "port": common[1], "key_path": common[2]},
        "servers": entries,
    }


def render_fleet_config(servers: Iterable[ServerView], key_paths: dict[int, str]) -> str:
    body = yaml.safe_dump(fleet_config(servers, key_paths), sort_keys=False)
    return HEADER + body


@dataclass
class FleetConfigExport:
    """Rewrites the file from the inventory; a fleet listener. Safe across processes (flock)."""

    read_servers: Callable[[], list[ServerView]]
    read_key_paths: Callable[[], dict[int, str]]
    path: Path

    @classmethod
    def for_services(cls, fleet_servers: Callable[[], list[ServerView]], keys: KeyService,
                     config_dir: Path) -> FleetConfigExport:  # fmt: skip
        def key_paths() -> dict[int, str]:
            return {key.id: key.private_key_path for key in keys.list_keys()}

        return cls(fleet_servers, key_paths, config_dir / FLEET_CONFIG)

    def write(self) -> bool:
        """Render and write atomically (mode 0644); False when the content was unchanged."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path.parent / f".{FLEET_CONFIG}.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            text = render_fleet_config(self.read_servers(), self.read_key_paths())
            return atomic_write(self.path, text, mode=0o644)
