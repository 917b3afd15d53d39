"""The worker-side shell scripts and systemd units, rendered from the template files."""

from __future__ import annotations

from dc_overview.remote.artifacts import Artifact
from dc_overview.remote.catalog import ExporterSpec
from dc_overview.remote.dcgm import render_container_script
from dc_overview.templating import render

ACTIONS = ("install", "commit", "rollback", "remove")


def render_unit(spec: ExporterSpec, artifact: Artifact) -> str:
    return render(
        spec.unit_template,
        user=spec.user,
        binary=spec.binary,
        port=spec.port,
        python="/usr/bin/python3",
        version=artifact.version,
        version_note=f"(sha256 {artifact.sha256[:16]})",
    )


def render_script(
    action: str, spec: ExporterSpec, artifact: Artifact | None, runtime: str = ""
) -> str:
    """The worker-side shell script for install, commit, rollback or remove of one exporter.

    `runtime` (WorkerFacts.nvidia_runtime) matters only for a container exporter's install.
    """
    if action not in ACTIONS:
        raise ValueError(f"unknown action {action!r}")
    if spec.container:
        return render_container_script(action, spec, artifact, runtime)
    context = {
        "kind": spec.kind,
        "unit": spec.unit,
        "user": spec.user,
        "base_dir": spec.base_dir,
        "binary_name": spec.binary_name,
        "port": spec.port,
        "version": artifact.version if artifact else "",
    }
    unit_text = render_unit(spec, artifact) if action == "install" and artifact else ""
    return render(f"scripts/{action}-exporter.sh.j2", e=context, unit_text=unit_text)
