"""Deploy jobs: per-host progress, bounded concurrency, and one failing host never stops the rest.

A job's state is plain data. `JobStore` keeps it as one JSON file per job (written atomically on
every change) so that any web worker process can answer `GET /api/jobs/<id>`.
"""

from __future__ import annotations

import asyncio
import json
import re
import secrets
import threading
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from dc_overview.fsutil import atomic_write

STAGES = (
    "queued", "connecting", "probing", "uploading", "installing", "verifying", "removing",
    "done", "failed",
)  # fmt: skip
FINAL_STAGES = ("done", "failed")
JOB_ID = re.compile(r"^[1-9][0-9]{11}$")


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def new_job_id() -> str:
    """Twelve digits (an integer in URLs: /api/jobs/<id>)."""
    return str(10**11 + secrets.randbelow(9 * 10**11))


@dataclass
class HostProgress:
    server: str
    stage: str = "queued"
    message: str = ""
    exporters: dict[str, str] = field(default_factory=dict)
    host_key: str | None = None  # fingerprint pinned by this job (first contact)
    started_at: str | None = None
    finished_at: str | None = None

    @property
    def finished(self) -> bool:
        return self.stage in FINAL_STAGES


@dataclass
class Job:
    id: str
    action: str
    hosts: dict[str, HostProgress]
    created_at: str = field(default_factory=_now)
    finished_at: str | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)
    _listeners: list[Callable[[Job], None]] = field(default_factory=list, repr=False)

    @classmethod
    def create(cls, action: str, servers: Sequence[str]) -> Job:
        return cls(new_job_id(), action, {name: HostProgress(name) for name in servers})

    def listen(self, listener: Callable[[Job], None]) -> None:
        self._listeners.append(listener)

    def update(self, server: str, stage: str | None = None, message: str | None = None,
               **exporters: str) -> None:  # fmt: skip
        if stage is not None and stage not in STAGES:
            raise ValueError(f"unknown stage {stage!r}")
        with self._lock:
            host = self.hosts[server]
            if stage is not None:
                host.stage = stage
                host.started_at = host.started_at or _now()
                if stage in FINAL_STAGES:
                    host.finished_at = _now()
            if message is not None:
                host.message = message
            host.exporters.update(exporters)
        self._changed()

    def pinned(self, server: str, fingerprint: str) -> None:
        with self._lock:
            self.hosts[server].host_key = fingerprint
        self._changed()

    def finish(self) -> None:
        self.finished_at = _now()
        self._changed()

    @property
    def failed(self) -> list[str]:
        return [name for name, host in self.hosts.items() if host.stage == "failed"]

    @property
    def counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for host in self.hosts.values():
            counts[host.stage] = counts.get(host.stage, 0) + 1
        return counts

    def to_dict(self) -> dict[str, Any]:
        with self._lock:
            hosts = [asdict(host) for host in self.hosts.values()]
        return {
            "id": self.id,
            "action": self.action,
            "created_at": self.created_at,
            "finished_at": self.finished_at,
            "finished": self.finished_at is not None,
            "counts": self.counts,
            "hosts": hosts,
        }

    def _changed(self) -> None:
        for listener in list(self._listeners):
            listener(self)


HostWork = Callable[[str], Awaitable[None]]


async def run_bounded(job: Job, work: HostWork, limit: int) -> Job:
    """Run `work(server)` for every host of the job, at most `limit` at a time.

    Whatever one host raises marks that host failed with the reason; the others carry on.
    """
    gate = asyncio.Semaphore(max(1, limit))

    async def one(server: str) -> None:
        async with gate:
            try:
                await work(server)
            except Exception as exc:  # the reason goes into the job; nothing is swallowed
                job.update(server, "failed", f"{type(exc).__name__}: {exc}"
                           if not str(exc) else str(exc))  # fmt: skip
            else:
                if not job.hosts[server].finished:
                    job.update(server, "done")

    await asyncio.gather(*(one(server) for server in job.hosts))
    job.finish()
    return job


class JobStore:
    """Jobs as JSON files under `<data dir>/jobs`, readable by every web worker process."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def save(self, job: Job) -> None:
        text = json.dumps(job.to_dict(), indent=1, sort_keys=True)
        atomic_write(self.directory / f"{job.id}.json", text, mode=0o600)

    def attach(self, job: Job) -> Job:
        """Save now and after every change."""
        self.save(job)
        job.listen(self.save)
        return job

    def recent(self, limit: int = 5) -> list[dict[str, Any]]:
        """The newest jobs first (for the dashboard); unreadable files are passed over."""
        jobs = []
        for path in self.directory.glob("*.json"):
            try:
                jobs.append(json.loads(path.read_text()))
            except (OSError, ValueError):
                continue
        jobs.sort(key=lambda job: job.get("created_at") or "", reverse=True)
        return jobs[:limit]

    def load(self, job_id: str | int) -> dict[str, Any] | None:
        job_id = str(job_id)
        if not JOB_ID.match(job_id):
            return None
        try:
            return json.loads((self.directory / f"{job_id}.json").read_text())
        except FileNotFoundError:
            return None
