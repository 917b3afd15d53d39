"""What a worker is: facts from the probe script (GPU, Vast.ai, systemd, ports, versions)."""

from __future__ import annotations

from dataclasses import dataclass, field

from dc_overview.remote.catalog import INSTALLABLE, ExporterSpec
from dc_overview.remote.ssh import SshSession
from dc_overview.templating import render

MIN_PYTHON = (3, 9)


@dataclass(frozen=True)
class ExporterState:
    installed_version: str
    active: bool
    port: str  # "free", "ours" or "busy users:((...))"

    @property
    def port_free_or_ours(self) -> bool:
        return self.port in ("free", "ours")


@dataclass(frozen=True)
class WorkerFacts:
    arch: str
    systemd: bool
    nvidia_smi: str
    nvidia_proc: bool
    vastai: bool
    docker: str
    nvidia_runtime: str  # "registered" (daemon knows `nvidia`), "hook" (--gpus works) or ""
    python: str
    exporters: dict[str, ExporterState] = field(default_factory=dict)
    docker_daemon: bool = False

    @property
    def has_gpu(self) -> bool:
        return bool(self.nvidia_smi) or self.nvidia_proc

    @property
    def python_ok(self) -> bool:
        try:
            version = tuple(int(part) for part in self.python.split("."))
        except ValueError:
            return False
        return version >= MIN_PYTHON

    @property
    def dcgm_possible(self) -> bool:
        return self.docker_reason() is None

    def docker_reason(self) -> str | None:
        """Why a GPU container (dcgm-exporter) cannot run here, or None."""
        if not self.docker:
            return "no Docker on this worker (no docker command)"
        if not self.docker_daemon:
            return f"Docker is installed ({self.docker}) but its daemon does not answer"
        if not self.nvidia_runtime:
            return (
                "Docker found but not the NVIDIA container runtime "
                "(no nvidia runtime in `docker info`, no nvidia-container-runtime-hook)"
            )
        return None

    def skip_reason(self, spec: ExporterSpec) -> str | None:
        """Why `spec` must not be installed here, or None."""
        if spec.container and self.docker_reason():
            return self.docker_reason()
        if spec.needs_gpu and not self.has_gpu:
            return "no NVIDIA GPU (no nvidia-smi, no /proc/driver/nvidia)"
        if spec.kind == "dc" and not self.python_ok:
            return f"needs /usr/bin/python3 >= 3.9 (found {self.python or 'none'})"
        return None


def parse_facts(text: str) -> WorkerFacts:
    values: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep:
            values[key.strip()] = value.strip()
    exporters = {
        kind: ExporterState(
            installed_version=values.get(f"installed.{kind}", ""),
            active=values.get(f"active.{kind}") == "active",
            port=values.get(f"port.{kind}", "free"),
        )
        for kind in INSTALLABLE
        if f"port.{kind}" in values
    }
    return WorkerFacts(
        arch=values.get("arch", ""),
        systemd=values.get("systemd") == "yes",
        nvidia_smi=values.get("nvidia_smi", ""),
        nvidia_proc=values.get("nvidia_proc") == "yes",
        vastai=values.get("vastai") == "yes",
        docker=values.get("docker", ""),
        nvidia_runtime=_runtime(values.get("nvidia_runtime", "")),
        docker_daemon=values.get("docker_daemon") == "yes",
        python=values.get("python", ""),
        exporters=exporters,
    )


def _runtime(value: str) -> str:
    return value if value in ("registered", "hook") else ""


async def probe(session: SshSession, specs: list[ExporterSpec]) -> WorkerFacts:
    script = render("scripts/probe.sh.j2", exporters=specs)
    result = await session.run_script(script, [], timeout=30)
    return parse_facts(result.stdout)
