"""dcgm-exporter on workers that have Docker and the NVIDIA container runtime.

The image comes from the master as a `docker save` tarball (air-gapped sites: `--dcgm-tarball`
or `<config dir>/artifacts/dcgm-exporter.tar`) and is `docker load`ed on the worker; without a
tarball the worker uses the pinned image it already has, or pulls it. The container runs with
`--gpus all` (plus `--runtime nvidia` where the daemon registers that runtime), restarts unless
stopped, and publishes the worker's port 9400.
"""

from __future__ import annotations

import json
import re
import shlex
import tarfile
from dataclasses import dataclass
from pathlib import Path

from dc_overview.remote.artifacts import Artifact, ArtifactError
from dc_overview.remote.catalog import ExporterSpec
from dc_overview.templating import render

DCGM_IMAGE = "nvcr.io/nvidia/k8s/dcgm-exporter:3.3.9-3.6.1-ubuntu22.04"
TARBALL_NAME = "dcgm-exporter.tar"
CONTAINER_PORT = 9400
IMAGE_REF = re.compile(
    r"^[a-z0-9][a-z0-9._-]*(:[0-9]+)?(/[a-z0-9][a-z0-9._-]*)*"
    r"(:[A-Za-z0-9_][A-Za-z0-9._-]{0,127})?(@sha256:[0-9a-f]{64})?$"
)


def check_image_ref(ref: str, field: str = "dcgm_image") -> str:
    if len(ref) > 255 or not IMAGE_REF.match(ref):
        raise ArtifactError(
            f"{field}: {ref!r} is not an image reference; give one like {DCGM_IMAGE}"
        )
    return ref


def image_in_tarball(path: Path) -> str:
    """The image name a `docker save` tarball holds (the first RepoTags entry of manifest.json)."""
    try:
        with tarfile.open(path) as archive:
            member = archive.extractfile("manifest.json")
            manifest = json.loads(member.read()) if member else None
    except (OSError, KeyError, tarfile.TarError, ValueError) as exc:
        raise ArtifactError(
            f"dcgm tarball {path} is not a `docker save` archive "
            f"({(str(exc) or type(exc).__name__).splitlines()[0].rstrip(':')}); "
            f"make one with: docker save {DCGM_IMAGE} -o {TARBALL_NAME}"
        ) from exc
    tags = (manifest or [{}])[0].get("RepoTags") or []
    if not tags:
        raise ArtifactError(
            f"dcgm tarball {path} holds an image without a name; save it by name: "
            f"docker save IMAGE:TAG -o {TARBALL_NAME}"
        )
    return check_image_ref(tags[0], "dcgm tarball")


def dcgm_artifact(tarball: Path | None, image: str) -> Artifact:
    """The image to run: from the tarball (pushed to each worker) or `image` (worker pulls)."""
    if tarball is None:
        return Artifact("dcgm", None, check_image_ref(image), "", None)
    if not tarball.is_file():
        raise ArtifactError(f"dcgm tarball {tarball} does not exist; fix --dcgm-tarball")
    return Artifact("dcgm", tarball, image_in_tarball(tarball), "", None)


def run_arguments(spec: ExporterSpec, image: str, runtime: str) -> list[str]:
    """`docker run` arguments for dcgm-exporter; `runtime` as WorkerFacts.nvidia_runtime."""
    args = ["-d", "--name", spec.container_name, "--restart", "unless-stopped", "--gpus", "all"]
    if runtime == "registered":
        args += ["--runtime", "nvidia"]
    args += ["-p", f"{spec.port}:{CONTAINER_PORT}", "--label", "dc-overview.exporter=dcgm", image]
    return args


def render_container_script(
    action: str, spec: ExporterSpec, artifact: Artifact | None, runtime: str = ""
) -> str:
    """install, commit, rollback or remove of the dcgm-exporter container."""
    image = artifact.version if artifact else ""
    run_args = " ".join(shlex.quote(a) for a in run_arguments(spec, image, runtime))
    return render(f"scripts/{action}-dcgm.sh.j2", image=shlex.quote(image),
                  container=spec.container_name, run_args=run_args)  # fmt: skip


@dataclass(frozen=True)
class DcgmChoice:
    """Where the dcgm-exporter image comes from, as the operator chose (CLI, config dir)."""

    tarball: Path | None = None
    image: str = DCGM_IMAGE

    def artifact(self, config_dir: Path) -> Artifact:
        dropped = config_dir / "artifacts" / TARBALL_NAME
        tarball = self.tarball or (dropped if dropped.is_file() else None)
        return dcgm_artifact(tarball, self.image)
