"""Register decoding on a synthetic BAR0 resource file, and the PCI scan."""

from __future__ import annotations

from pathlib import Path

import pytest

from dc_overview.exporters.gpu.backends.nvidia_smi import NvidiaSmiBackend
from dc_overview.exporters.gpu.backends.registers import (
    DEVICE_LAYOUTS,
    HOT_SPOT_OFFSET,
    VRAM_OFFSET,
    VRAM_OFFSET_GA104,
    RegisterReader,
    decode_hot_spot_temp,
    decode_vram_temp,
)
from dc_overview.exporters.gpu.collector import CollectionLoop, Exposition
from dc_overview.exporters.gpu.pci import bus_key, nvml_bus_id, scan_nvidia_gpus, sysfs_address
from tests.unit.exporters.helpers import capture, make_pci_device, samples, value_of, write_bar0


@pytest.mark.parametrize(
    ("raw", "celsius"),
    [(0x0A60, 83.0), (0x0A70, 83.5), (0xFFFFF000 | 0x0800, 64.0), (0x0000, None), (0x0FFF, None)],
)
def test_decode_vram(raw: int, celsius: float | None) -> None:
    assert decode_vram_temp(raw) == celsius


@pytest.mark.parametrize(
    ("raw", "celsius"), [(0x5200, 82.0), (0xFFFF4D7F, 77.0), (0x0000, None), (0xFF00, None)]
)
def test_decode_hot_spot(raw: int, celsius: float | None) -> None:
    assert decode_hot_spot_temp(raw) == celsius


def test_read_from_synthetic_bar0(tmp_path: Path) -> None:
    ga102 = make_pci_device(tmp_path, "0000:09:00.0", 0x2204)
    write_bar0(ga102, {VRAM_OFFSET: 0x0A60, HOT_SPOT_OFFSET: 0x00005200, VRAM_OFFSET_GA104: 0x111})
    ga104 = make_pci_device(tmp_path, "0000:0a:00.0", 0x2484)
    write_bar0(ga104, {VRAM_OFFSET: 0x0111, VRAM_OFFSET_GA104: 0x0940, HOT_SPOT_OFFSET: 0x4B00})
    reader = RegisterReader(str(tmp_path))
    assert reader.read("00000000:09:00.0", 0x2204) == (83.0, 82.0)
    assert reader.read("00000000:0A:00.0", 0x2484) == (74.0, 75.0)


def test_unsupported_or_refused_reads_stay_absent(tmp_path: Path) -> None:
    reader = RegisterReader(str(tmp_path))
    assert reader.read("00000000:01:00.0", 0x20B2) == (None, None)  # A100: not in the table
    assert reader.read("00000000:01:00.0", None) == (None, None)
    assert reader.read("00000000:09:00.0", 0x2204) == (None, None)  # no resource0: refused
    device = make_pci_device(tmp_path, "0000:09:00.0", 0x2204)
    write_bar0(device, {VRAM_OFFSET: 0x0A60, HOT_SPOT_OFFSET: 0x5200})
    assert reader.read("00000000:09:00.0", 0x2204) == (None, None)  # refusal is remembered
    short = make_pci_device(tmp_path, "0000:0b:00.0", 0x2204)
    write_bar0(short, {}, size=0x1000)  # too small to hold the registers
    assert RegisterReader(str(tmp_path)).read("0000:0b:00.0", 0x2204) == (None, None)


def test_layout_table_is_consistent() -> None:
    assert all(layout.vram_offset % 4 == 0 for layout in DEVICE_LAYOUTS.values())
    assert DEVICE_LAYOUTS[0x2702].chip == "AD103"  # RTX 4080 SUPER (see the text capture)


def test_registers_fill_vram_and_hot_spot_in_the_exposition(tmp_path: Path) -> None:
    pci = tmp_path / "devices"
    write_bar0(
        make_pci_device(pci, "0000:09:00.0", 0x2204), {VRAM_OFFSET: 0x0A60, HOT_SPOT_OFFSET: 0x5200}
    )
    backend = NvidiaSmiBackend(xml_file=str(capture("3090-v13.xml")))
    loop = CollectionLoop(backend, pci_root=str(pci), registers=RegisterReader(str(pci)))
    loop.collect_once()
    parsed = samples(Exposition(loop).render("")[0].decode())
    assert value_of(parsed, "DCGM_FI_DEV_VRAM_TEMP", gpu="0") == 83.0
    assert value_of(parsed, "DCGM_FI_DEV_HOT_SPOT_TEMP", gpu="0") == 82.0
    assert "DCGM_FI_DEV_MEMORY_TEMP" not in parsed  # registers never pose as NVML's reading


def test_pci_scan(tmp_path: Path) -> None:
    make_pci_device(tmp_path, "0000:01:00.0", 0x2204, pci_class=0x030000)
    make_pci_device(tmp_path, "0000:02:00.0", 0x20B2, pci_class=0x030200, driver="vfio-pci")
    make_pci_device(tmp_path, "0000:01:00.1", 0x1AEF, pci_class=0x040300)
    other = tmp_path / "0000:03:00.0"
    other.mkdir()
    (other / "vendor").write_text("0x8086\n")
    (other / "class").write_text("0x030000\n")
    gpus = scan_nvidia_gpus(str(tmp_path))
    assert [(g.address, g.device_id, g.driver) for g in gpus] == [
        ("0000:01:00.0", 0x2204, "nvidia"),
        ("0000:02:00.0", 0x20B2, "vfio-pci"),
    ]
    assert scan_nvidia_gpus(str(tmp_path / "missing")) is None


@pytest.mark.parametrize(
    ("bus_id", "key", "sysfs", "nvml"),
    [
        ("00000000:C1:00.0", (0, 0xC1, 0, 0), "0000:c1:00.0", "00000000:C1:00.0"),
        ("0000:00:1e.0", (0, 0, 0x1E, 0), "0000:00:1e.0", "00000000:00:1E.0"),
        ("01:00.0", (0, 1, 0, 0), "0000:01:00.0", "00000000:01:00.0"),
        ("nonsense", None, "nonsense", "nonsense"),
    ],
)
def test_bus_id_forms(bus_id: str, key, sysfs: str, nvml: str) -> None:
    assert bus_key(bus_id) == key
    assert sysfs_address(bus_id) == sysfs
    assert nvml_bus_id(bus_id) == nvml
