"""Install, verify, upgrade and remove exporters on one worker over SSH.

Order per exporter: port check, upload, install (unit from a template, dedicated user), then the
master fetches `/metrics` and checks the expected families. Only a verified exporter is marked
installed in the inventory, which is what puts it into the Prometheus target files. A failed
verification rolls back to the previous version (or removes a first install).
"""

from __future__ import annotations

import asyncio
import shlex
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import requests

from dc_overview.inventory.views import ServerView
from dc_overview.prometheus.targets import host_port
from dc_overview.remote.artifacts import (
    Artifact,
    ArtifactError,
    dc_exporter_zipapp,
    downloaded_node_exporter,
    local_node_exporter,
)
from dc_overview.remote.catalog import NOT_INSTALLED_HERE, ExporterSpec, specs_for
from dc_overview.remote.dcgm import DcgmChoice
from dc_overview.remote.jobs import Job, run_bounded
from dc_overview.remote.scripts import render_script, render_unit
from dc_overview.remote.ssh import (
    COMMAND_TIMEOUT,
    CONNECT_TIMEOUT,
    CommandFailed,
    SshError,
    SshSession,
    SshTarget,
    connect,
)
from dc_overview.remote.trust import HostKeyMismatch, HostTrust
from dc_overview.remote.worker import WorkerFacts, probe
from dc_overview.services import Services

__all__ = ["DeployOptions", "render_script", "render_unit", "run_job", "ssh_target"]
VASTAI_NOTE = "Vast.ai host: flagged for the vastai exporter"


class StepFailed(RuntimeError):
    """One exporter on one host could not be installed; the message is the reason."""


@dataclass(frozen=True)
class DeployOptions:
    kinds: tuple[str, ...] = ("node", "dc")
    remove: bool = False
    parallel: int = 32
    connect_timeout: float = CONNECT_TIMEOUT
    command_timeout: float = COMMAND_TIMEOUT
    verify_timeout: float = 20.0
    node_exporter_source: Path | None = None  # a local binary/dir; None: the pinned download
    dcgm: DcgmChoice = field(default_factory=DcgmChoice)  # where dcgm-exporter's image comes from


class ArtifactSource:
    """Prepares each artifact once per architecture, shared by every host of a job."""

    def __init__(
        self, cache_dir: Path, node_source: Path | None, dcgm: DcgmChoice, config_dir: Path
    ) -> None:
        self.cache_dir = cache_dir
        self.node_source = node_source
        self.dcgm = dcgm
        self.config_dir = config_dir
        self._cache: dict[tuple[str, str], Artifact] = {}
        self._lock = asyncio.Lock()

    async def get(self, kind: str, arch: str) -> Artifact:
        async with self._lock:
            key = (kind, arch if kind == "node" else "")
            if key not in self._cache:
                self._cache[key] = await asyncio.to_thread(self._prepare, kind, arch)
            return self._cache[key]

    def _prepare(self, kind: str, arch: str) -> Artifact:
        if kind == "dcgm":
            return self.dcgm.artifact(self.config_dir)
        if kind == "dc":
            return dc_exporter_zipapp(self.cache_dir)
        if self.node_source is not None:
            return local_node_exporter(self.node_source)
        return downloaded_node_exporter(self.cache_dir, arch)


def fetch_families(url: str, timeout: float = 5.0) -> set[str]:
    response = requests.get(url, timeout=timeout)
    response.raise_for_status()
    families = set()
    for line in response.text.splitlines():
        if line.startswith("# TYPE "):
            families.add(line.split()[2])
        elif line and not line.startswith("#"):
            families.add(line.split("{")[0].split(" ")[0])
    return families


def verify_metrics(host: str, spec: ExporterSpec, timeout: float) -> None:
    """Poll http://host:port/metrics until the expected families are there (StepFailed if not)."""
    url = f"http://{host_port(host, spec.port)}/metrics"
    timeout = max(timeout, 0.5)
    deadline = time.monotonic() + timeout
    problem = "no answer"
    while time.monotonic() < deadline:
        try:
            missing = set(spec.expected_families) - fetch_families(url)
        except requests.RequestException as exc:
            problem = f"{url}: {type(exc).__name__}"
        else:
            if not missing:
                return
            problem = f"{url} lacks {', '.join(sorted(missing))}"
        time.sleep(0.5)
    raise StepFailed(f"verification failed: {problem}")


def ssh_target(services: Services, server: ServerView) -> SshTarget:
    """How to reach `server`: its address, user and the private key the inventory names."""
    if server.ssh_key_id is None:
        raise StepFailed(f"{server.name} has no SSH key; give it one (dc-overview servers)")
    key = services.keys.get(server.ssh_key_id)
    return SshTarget(server.name, server.server_ip, server.ssh_port, server.ssh_user,
                     Path(key.private_key_path))  # fmt: skip


class HostDeployer:
    """Everything one job does, host by host; `run(server_name)` is the job's unit of work."""

    def __init__(self, services: Services, job: Job, options: DeployOptions) -> None:
        self.services = services
        self.job = job
        self.options = options
        self.specs = specs_for(options.kinds)
        self.trust = HostTrust(services.host_keys)
        settings = services.settings
        self.artifacts = ArtifactSource(settings.data_dir / "artifacts",
                                        options.node_exporter_source, options.dcgm,
                                        settings.config_dir)  # fmt: skip

    async def run(self, name: str) -> None:
        server = await asyncio.to_thread(self.services.fleet.find_by_name, name)
        seen: list[datetime] = []  # the time of contact, once connected
        error: BaseException | None = None
        try:
            await self._run(server, seen)
        except BaseException as exc:
            error = exc
            raise
        finally:
            status = contact_status(error, bool(seen), self.job.hosts[name].stage)
            await asyncio.to_thread(self.services.fleet.record_contact, server.id, status,
                                    seen[0] if seen else None)  # fmt: skip

    async def _run(self, server: ServerView, seen: list[datetime]) -> None:
        name = server.name
        self.job.update(name, "connecting")
        target = await asyncio.to_thread(ssh_target, self.services, server)
        session = await connect(target, self.trust, self.options.connect_timeout,
                                on_new_key=lambda fp: self.job.pinned(name, fp))  # fmt: skip
        seen.append(datetime.now(UTC))
        async with session:
            await session.check_sudo()
            self.job.update(name, "probing")
            facts = await probe(session, self.specs)
            if not facts.systemd:
                raise StepFailed("the worker does not run systemd; nothing installed")
            if self.options.remove:
                await self._remove_all(session, server)
            else:
                await self._install_all(session, server, facts)

    async def _install_all(self, session: SshSession, server: ServerView, facts: WorkerFacts):
        name = server.name
        for kind in self.options.kinds:
            if kind in NOT_INSTALLED_HERE:
                self.job.update(name, **{kind: f"skipped: {NOT_INSTALLED_HERE[kind]}"})
        await self._record_facts(server, facts)
        failures = []
        for spec in self.specs:
            try:
                outcome = await self._install_one(session, server, facts, spec)
            except StepFailed as exc:
                failures.append(f"{spec.kind}: {exc}")
                self.job.update(name, **{spec.kind: f"failed: {exc}"})
            else:
                self.job.update(name, **{spec.kind: outcome})
        note = f"; {VASTAI_NOTE}" if facts.vastai else ""
        if failures:
            self.job.update(name, "failed", "; ".join(failures) + note)
        else:
            self.job.update(name, "done", "ok" + note)

    async def _record_facts(self, server: ServerView, facts: WorkerFacts) -> None:
        """GPUs found and the Vast.ai daemon (present or gone) go into the inventory."""
        changes: dict[str, bool] = {}
        if facts.has_gpu and not server.has_gpu:
            changes["has_gpu"] = True
        if facts.vastai != server.vastai_host:
            changes["vastai_host"] = facts.vastai
        if changes:
            await asyncio.to_thread(self.services.fleet.update, server.id, changes)

    async def _install_one(
        self, session: SshSession, server: ServerView, facts: WorkerFacts, spec: ExporterSpec
    ) -> str:
        reason = facts.skip_reason(spec)
        if reason:
            return f"skipped: {reason}"
        try:
            artifact = await self.artifacts.get(spec.kind, facts.arch)
        except ArtifactError as exc:
            raise StepFailed(str(exc)) from exc
        if not artifact.runs_on(facts.arch):
            raise StepFailed(f"artifact is for {artifact.arch}, the worker is {facts.arch}")
        state = facts.exporters.get(spec.kind)
        if state and state.installed_version == artifact.version and state.active:
            await self._verify(server, spec)
            await self._mark(server, spec, artifact.version)
            return f"unchanged {artifact.version}"
        if state and not state.port_free_or_ours:
            raise StepFailed(f"port {spec.port} is {state.port}; not installed")
        try:
            await self._push_and_start(session, server.name, spec, artifact, facts)
            await self._verify(server, spec)
        except (StepFailed, CommandFailed) as exc:
            raise StepFailed(await self._roll_back(session, server, spec, artifact, exc)) from exc
        await session.run_script(render_script("commit", spec, artifact), [])
        await self._mark(server, spec, artifact.version)
        was = state.installed_version if state else ""
        return f"upgraded {was} -> {artifact.version}" if was else f"installed {artifact.version}"

    async def _push_and_start(self, session: SshSession, name: str, spec: ExporterSpec,
                              artifact: Artifact, facts: WorkerFacts) -> None:  # fmt: skip
        remote = ""
        if artifact.path is not None and not await self._worker_has_image(session, artifact):
            self.job.update(name, "uploading")
            staged = await session.run("mktemp /tmp/dc-overview-upload.XXXXXXXX", as_root=False)
            remote = staged.stdout.strip()
            await session.put(artifact.path, remote, timeout=self.options.command_timeout)
        self.job.update(name, "installing")
        script = render_script("install", spec, artifact, facts.nvidia_runtime)
        try:
            await session.run_script(script, [remote], timeout=self.options.command_timeout)
        except CommandFailed:
            if remote:
                await session.run(f"rm -f {remote}", check=False)
            raise

    async def _worker_has_image(self, session: SshSession, artifact: Artifact) -> bool:
        """A container image already on the worker is not pushed again."""
        if artifact.kind != "dcgm":
            return False
        found = await session.run(f"docker image inspect {shlex.quote(artifact.version)}",
                                  check=False)  # fmt: skip
        return found.status == 0

    async def _roll_back(self, session: SshSession, server: ServerView, spec: ExporterSpec,
                         artifact: Artifact, error: Exception) -> str:  # fmt: skip
        """Back to the previous version, checked again; returns the reason for the job."""
        reason = str(error)
        if isinstance(error, CommandFailed):
            lines = [line.strip() for line in error.output.strip().splitlines() if line.strip()]
            reason = f"install failed: {' / '.join(lines[-4:]) or error}"
        try:
            undo = await session.run_script(render_script("rollback", spec, artifact), [])
        except SshError as exc:
            return f"{reason}; the rollback failed too: {exc}"
        outcome = undo.stdout.strip().splitlines()[-1] if undo.stdout.strip() else "rolled back"
        previous = outcome.removeprefix("rolled back to ").strip()
        if not outcome.startswith("rolled back to "):
            await self._mark(server, spec, None)
            return f"{reason}; {outcome}"
        try:
            await self._verify(server, spec)
        except StepFailed as again:
            await self._mark(server, spec, None)
            return f"{reason}; {outcome}, but it does not answer either ({again})"
        await self._mark(server, spec, previous)
        return f"{reason}; {outcome}, which serves its metrics again"

    async def _verify(self, server: ServerView, spec: ExporterSpec) -> None:
        self.job.update(server.name, "verifying")
        await asyncio.to_thread(verify_metrics, server.server_ip, spec, self.options.verify_timeout)

    async def _mark(self, server: ServerView, spec: ExporterSpec, version: str | None) -> None:
        installed = version is not None
        change = {"installed": installed, "enabled": installed, "version": version}
        current = server.exporter(spec.kind)
        if current and (current.installed, current.enabled, current.version) == (
            installed,
            installed,
            version,
        ):
            return
        await asyncio.to_thread(
            self.services.fleet.update, server.id, {"exporters": {spec.kind: change}}
        )

    async def _remove_all(self, session: SshSession, server: ServerView) -> None:
        self.job.update(server.name, "removing")
        for spec in self.specs:
            await session.run_script(render_script("remove", spec, None), [])
            await self._mark(server, spec, None)
            self.job.update(server.name, **{spec.kind: "removed"})
        self.job.update(server.name, "done", "removed")


def contact_status(error: BaseException | None, reached: bool, stage: str) -> str:
    """Server.status after a deploy there: ok, failed, unreachable or host key changed."""
    if isinstance(error, HostKeyMismatch):
        return "host key changed"
    if error is None:
        return "failed" if stage == "failed" else "ok"
    return "failed" if reached or isinstance(error, StepFailed) else "unreachable"


async def run_job(services: Services, job: Job, options: DeployOptions) -> Job:
    """Deploy (or remove) on every host of `job`, `options.parallel` at a time."""
    deployer = HostDeployer(services, job, options)
    return await run_bounded(job, deployer.run, options.parallel)
