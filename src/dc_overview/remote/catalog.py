"""The exporters the master can install on workers: where they live there and how to check them."""

from __future__ import annotations

from dataclasses import dataclass

from dc_overview.inventory.models import EXPORTER_KINDS

INSTALL_ROOT = "/opt/dc-overview"


@dataclass(frozen=True)
class ExporterSpec:
    kind: str
    title: str
    port: int
    user: str
    binary_name: str
    unit_template: str
    expected_families: tuple[str, ...]
    needs_gpu: bool
    container: bool = False  # runs as a Docker container (dcgm-exporter), not a systemd unit

    @property
    def unit(self) -> str:
        return f"{self.container_name}.service"

    @property
    def container_name(self) -> str:
        return f"dc-overview-{self.kind}-exporter"

    @property
    def base_dir(self) -> str:
        return f"{INSTALL_ROOT}/{self.kind}"

    @property
    def binary(self) -> str:
        return f"{self.base_dir}/current/{self.binary_name}"


NODE = ExporterSpec(
    kind="node",
    title="node_exporter",
    port=EXPORTER_KINDS["node"],
    user="dc-node-exporter",
    binary_name="node_exporter",
    unit_template="systemd/node-exporter.service.j2",
    expected_families=("node_exporter_build_info", "node_cpu_seconds_total"),
    needs_gpu=False,
)
DC = ExporterSpec(
    kind="dc",
    title="dc-exporter",
    port=EXPORTER_KINDS["dc"],
    user="dc-gpu-exporter",
    binary_name="dc-exporter.pyz",
    unit_template="systemd/dc-exporter.service.j2",
    expected_families=("dc_exporter_build_info",),
    needs_gpu=True,
)
DCGM = ExporterSpec(
    kind="dcgm",
    title="dcgm-exporter",
    port=EXPORTER_KINDS["dcgm"],
    user="",
    binary_name="",
    unit_template="",
    expected_families=("DCGM_FI_DEV_GPU_TEMP", "DCGM_FI_DEV_POWER_USAGE"),
    needs_gpu=True,
    container=True,
)
INSTALLABLE: dict[str, ExporterSpec] = {"node": NODE, "dc": DC, "dcgm": DCGM}
# Known kinds the master does not install itself, with the reason shown to the operator.
NOT_INSTALLED_HERE = {
    "vastai": "vastai-exporter runs on the master (it reads the Vast.ai API), not on workers",
}
DEFAULT_KINDS = ("node", "dc")


def specs_for(kinds: list[str] | tuple[str, ...]) -> list[ExporterSpec]:
    unknown = [k for k in kinds if k not in INSTALLABLE and k not in NOT_INSTALLED_HERE]
    if unknown:
        known = ", ".join([*INSTALLABLE, *NOT_INSTALLED_HERE])
        raise ValueError(f"unknown exporter {unknown[0]!r}; known: {known}")
    return [INSTALLABLE[k] for k in kinds if k in INSTALLABLE]
