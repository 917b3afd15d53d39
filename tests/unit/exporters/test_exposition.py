"""What a scrape returns: dcgm-exporter names and labels, absent N/A readings, promtool."""

from __future__ import annotations

from pathlib import Path

import pytest
from prometheus_client import generate_latest
from prometheus_client.openmetrics.parser import text_string_to_metric_families as om_parse

from dc_overview.exporters.gpu.backends.base import Backend, CollectionFailure
from dc_overview.exporters.gpu.backends.nvidia_smi import NvidiaSmiBackend
from dc_overview.exporters.gpu.collector import CollectionLoop, Exposition
from dc_overview.exporters.gpu.metrics_table import GPU_LABELS, GPU_METRICS, all_metric_names
from tests.unit.exporters.helpers import (
    assert_promtool_passes,
    capture,
    capture_names,
    make_pci_device,
    samples,
    value_of,
)

OPENMETRICS = "application/openmetrics-text; version=1.0.0"


def exposition_of(name: str, pci_root: Path, **loop_options) -> tuple[str, Exposition]:
    backend = NvidiaSmiBackend(xml_file=str(capture(name)))
    loop = CollectionLoop(backend, hostname="worker-1", pci_root=str(pci_root), **loop_options)
    loop.collect_once()
    exposition = Exposition(loop)
    body, _ = exposition.render("")
    return body.decode(), exposition


@pytest.mark.parametrize("name", capture_names())
def test_every_capture_passes_promtool(name: str, tmp_path: Path) -> None:
    text, exposition = exposition_of(name, tmp_path / "no-pci")
    assert_promtool_passes(text)
    # The only lint findings are dcgm-exporter's own names: renamed, nothing is left.
    renamed = text.replace("modelName=", "model_name=").replace(
        "DCGM_FI_DEV_PCIE_REPLAY_COUNTER", "DCGM_FI_DEV_PCIE_REPLAYS"
    )
    assert_promtool_passes(renamed, allowed=())
    om_body, content_type = exposition.render(OPENMETRICS)
    assert content_type.startswith("application/openmetrics-text")
    assert list(om_parse(om_body.decode()))  # OpenMetrics parses too (ends with one # EOF)
    assert om_body.decode().count("# EOF") == 1


@pytest.mark.parametrize("name", capture_names())
def test_labels_are_dcgm_exporters(name: str, tmp_path: Path) -> None:
    parsed = samples(exposition_of(name, tmp_path)[0])
    temps = parsed["DCGM_FI_DEV_GPU_TEMP"]
    assert temps, "every capture has a GPU temperature"
    for labels, _ in temps:
        assert tuple(sorted(labels)) == tuple(sorted(GPU_LABELS))
        assert labels["Hostname"] == "worker-1"
    for labels, _ in (
        parsed["DCGM_FI_DEV_CLOCKS_THROTTLE_REASON"] if name != "gtx-1070-ti.xml" else []
    ):
        assert set(labels) == {*GPU_LABELS, "reason"}
    assert set(parsed) <= {*all_metric_names(), *_suffixed()}


def _suffixed() -> set[str]:
    return {"dc_exporter_collections_total", "dc_exporter_collection_errors_total"}


def test_values_and_absent_readings_in_the_exposition(tmp_path: Path) -> None:
    parsed = samples(exposition_of("3090-v13.xml", tmp_path)[0])
    labels = dict(gpu="0", UUID="GPU-12345678-aaaa-bbbb-cccc-0123456789ab")
    assert value_of(parsed, "DCGM_FI_DEV_GPU_TEMP", **labels) == 32
    assert value_of(parsed, "DCGM_FI_DEV_POWER_USAGE", **labels) == pytest.approx(35.06)
    assert value_of(parsed, "DCGM_FI_DEV_FB_USED", **labels) == 7
    assert value_of(parsed, "DCGM_FI_DEV_CLOCKS_THROTTLE_REASON", reason="SwPowerCap") == 1
    assert value_of(parsed, "GPU_ERROR_STATE", gpu="0") == 1
    for absent in (
        "DCGM_FI_DEV_MEMORY_TEMP",  # N/A on GeForce
        "DCGM_FI_DEV_VRAM_TEMP",  # no registers read in this test
        "DCGM_FI_DEV_HOT_SPOT_TEMP",
        "DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION",  # not in nvidia-smi's XML
        "DCGM_FI_DEV_ECC_SBE_VOL_TOTAL",  # N/A: no ECC
        "DCGM_FI_DEV_CORRECTABLE_REMAPPED_ROWS",  # <remapped_rows>N/A</remapped_rows>
        "DCGM_FI_DEV_MIG_MODE",
    ):
        assert absent not in parsed, f"{absent} is N/A in the capture but exported"


def test_gtx_without_driver_version_and_power(tmp_path: Path) -> None:
    parsed = samples(exposition_of("gtx-1070-ti.xml", tmp_path)[0])
    ((labels, value),) = parsed["DCGM_FI_DEV_GPU_TEMP"]
    assert value == 39 and labels["DCGM_FI_DRIVER_VERSION"] == "" and labels["device"] == ""
    assert "DCGM_FI_DEV_POWER_USAGE" not in parsed


def test_a100_mig_instances_and_driver_count(tmp_path: Path) -> None:
    parsed = samples(exposition_of("a100-sxm4-v12.xml", tmp_path)[0])
    assert value_of(parsed, "DCGM_FI_DEV_MIG_MODE", gpu="0") == 1
    assert value_of(parsed, "DCGM_FI_DEV_FB_USED", gpu="0", GPU_I_ID="5") == 12
    whole = [v for labels, v in parsed["DCGM_FI_DEV_FB_USED"] if "GPU_I_ID" not in labels]
    assert whole == [50]
    assert value_of(parsed, "DCGM_FI_DEV_MEMORY_TEMP") == 44
    assert value_of(parsed, "DCGM_FI_DEV_VRAM_TEMP") == 44  # VRAM_TEMP follows NVML/XML first
    assert "DCGM_FI_DEV_GPU_UTIL" not in parsed  # N/A with MIG on
    assert value_of(parsed, "dc_exporter_gpus", source="driver") == 4
    assert value_of(parsed, "dc_exporter_gpus", source="readable") == 1


def test_dual_gpus_are_two_series(tmp_path: Path) -> None:
    parsed = samples(exposition_of("dual_a5000-v13.xml", tmp_path)[0])
    temps = {(x["gpu"], x["device"], x["pci_bus_id"]): v for x, v in parsed["DCGM_FI_DEV_GPU_TEMP"]}
    assert temps == {
        ("0", "nvidia1", "00000000:81:00.0"): 13,
        ("1", "nvidia0", "00000000:C1:00.0"): 15,
    }


def test_gpus_on_pci_but_not_seen_by_the_driver(tmp_path: Path) -> None:
    pci = tmp_path / "devices"
    make_pci_device(pci, "0000:81:00.0", 0x2231)
    make_pci_device(pci, "0000:c1:00.0", 0x2231)
    make_pci_device(pci, "0000:c1:00.1", 0x1AEF, driver="snd_hda_intel", pci_class=0x040300)
    make_pci_device(pci, "0000:41:00.0", 0x2231)  # fell off the bus
    make_pci_device(pci, "0000:42:00.0", 0x2231, driver="vfio-pci")  # given to a VM
    parsed = samples(exposition_of("dual_a5000-v13.xml", pci)[0])
    assert value_of(parsed, "dc_exporter_gpus", source="pci") == 4
    assert value_of(parsed, "dc_exporter_gpus", source="driver") == 2
    assert value_of(parsed, "dc_exporter_gpus_missing") == 1
    assert value_of(parsed, "GPU_ERROR_STATE", pci_bus_id="00000000:41:00.0") == 2
    assert value_of(parsed, "GPU_ERROR_STATE", pci_bus_id="00000000:42:00.0") == 3
    assert value_of(parsed, "GPU_ERROR_STATE", pci_bus_id="00000000:81:00.0") == 1


class FailingBackend(Backend):
    name = "nvml"

    def __init__(self, reason: str) -> None:
        self.reason = reason

    def read(self):
        raise CollectionFailure(self.reason, "no NVIDIA driver")


@pytest.mark.parametrize("reason", ["driver_not_loaded", "nvml_library_not_found"])
def test_worker_without_gpus(reason: str, tmp_path: Path) -> None:
    make_pci_device(tmp_path / "devices", "0000:01:00.0", 0x2204, driver="")
    loop = CollectionLoop(FailingBackend(reason), pci_root=str(tmp_path / "devices"))
    loop.collect_once()
    text = generate_latest(Exposition(loop).registry).decode()
    parsed = samples(text)
    assert value_of(parsed, "dc_exporter_build_info", backend="nvml") == 1
    assert value_of(parsed, "dc_exporter_gpus", source="driver") == 0
    assert value_of(parsed, "dc_exporter_up") == 0
    assert value_of(parsed, "dc_exporter_collection_error", reason=reason) == 1
    assert value_of(parsed, "dc_exporter_gpus_missing") == 1  # the driver is not loaded
    assert value_of(parsed, "dc_exporter_collection_errors_total") == 1
    assert not any(name.startswith("DCGM_FI_DEV_") for name in parsed)
    assert_promtool_passes(text)


def test_before_the_first_collection(tmp_path: Path) -> None:
    loop = CollectionLoop(FailingBackend("x"), pci_root=str(tmp_path))
    parsed = samples(Exposition(loop).render("")[0].decode())
    assert value_of(parsed, "dc_exporter_collection_error", reason="pending") == 1
    assert value_of(parsed, "dc_exporter_gpus", source="readable") == 0


def test_static_part_is_encoded_once_per_snapshot(tmp_path: Path) -> None:
    _, exposition = exposition_of("tesla-t4.xml", tmp_path)
    first, _ = exposition.render("")
    second, _ = exposition.render("")
    static = first.split(b"# HELP dc_exporter_up")[0]
    assert second.startswith(static)
    assert all(spec.type == "gauge" for spec in GPU_METRICS)
