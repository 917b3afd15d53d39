"""file_sd target files, one per job, rendered from the inventory and written atomically."""

from __future__ import annotations

import fcntl
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from dc_overview.fsutil import atomic_write
from dc_overview.inventory.models import Server

JOB_BY_EXPORTER: dict[str, str] = {
    "node": "node",
    "dc": "dc-exporter",
    "dcgm": "dcgm-exporter",
    "vastai": "vastai",
}
JOBS: tuple[str, ...] = tuple(JOB_BY_EXPORTER.values())
# Exporters that run inside the stack (not on an inventory server) get target files of their own,
# `targets/<job>.stack.json`, written by the quickstart; the inventory writer never touches them.
STACK_FILES: dict[str, str] = {JOB_BY_EXPORTER["vastai"]: "vastai.stack.json"}


def host_port(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def target_groups(servers: Iterable[Server]) -> dict[str, list[dict]]:
    """Per job, one file_sd group per server that runs that exporter (enabled and installed)."""
    groups: dict[str, list[dict]] = {job: [] for job in JOBS}
    for server in sorted(servers, key=lambda s: s.name):
        for exporter in server.exporters:
            if not exporter.scraped:
                continue
            labels = {**server.labels, "instance": server.name, "server_ip": server.server_ip}
            groups[JOB_BY_EXPORTER[exporter.kind]].append(
                {"targets": [host_port(server.server_ip, exporter.port)], "labels": labels}
            )
    return groups


@dataclass
class TargetPublisher:
    """Writes the target files from the current inventory; safe across processes (flock)."""

    read_servers: Callable[[], list[Server]]
    targets_dir: Path

    def file_for(self, job: str) -> Path:
        return self.targets_dir / f"{job}.json"

    def publish(self) -> list[str]:
        """Render every job's file; returns the jobs whose file changed."""
        self.targets_dir.mkdir(parents=True, exist_ok=True)
        with open(self.targets_dir / ".lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            groups = target_groups(self.read_servers())
            changed = [
                job
                for job, entries in groups.items()
                if atomic_write(self.file_for(job), json.dumps(entries, indent=2) + "\n")
            ]
        return changed

    def read(self) -> dict[str, list[dict]]:
        """What Prometheus is told right now, per job (the stack's own targets included)."""
        result = {}
        for job in JOBS:
            stack_file = self.targets_dir / STACK_FILES[job] if job in STACK_FILES else None
            result[job] = _groups_in(self.file_for(job)) + _groups_in(stack_file)
        return result


def _groups_in(path: Path | None) -> list[dict]:
    if path is None:
        return []
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        return []
