"""NVIDIA GPUs on the PCI bus, read from sysfs (root overridable for tests)."""

from __future__ import annotations

import logging
import os
import re

from .snapshot import PciGpu

log = logging.getLogger(__name__)

SYSFS_PCI_DEVICES = "/sys/bus/pci/devices"
NVIDIA_VENDOR = 0x10DE
GPU_CLASSES = (0x0300, 0x0302)  # VGA compatible controller, 3D controller
PASSTHROUGH_DRIVERS = ("vfio-pci", "pci-stub")

_BUS_ID = re.compile(r"^(?:([0-9a-fA-F]{1,8}):)?([0-9a-fA-F]{1,2}):([0-9a-fA-F]{1,2})\.([0-7])$")


def bus_key(bus_id: str) -> tuple[int, int, int, int] | None:
    """(domain, bus, device, function) of "00000000:01:00.0", "0000:01:00.0" or "01:00.0"."""
    match = _BUS_ID.match(bus_id.strip())
    if match is None:
        return None
    domain, bus, device, function = match.groups()
    return int(domain or "0", 16), int(bus, 16), int(device, 16), int(function)


def sysfs_address(bus_id: str) -> str:
    """The sysfs directory name ("0000:01:00.0") of a bus id in any of the usual forms."""
    key = bus_key(bus_id)
    if key is None:
        return bus_id.lower()
    domain, bus, device, function = key
    return f"{domain:04x}:{bus:02x}:{device:02x}.{function}"


def nvml_bus_id(bus_id: str) -> str:
    """The bus id in NVML's form ("00000000:01:00.0"), as dcgm-exporter labels it."""
    key = bus_key(bus_id)
    if key is None:
        return bus_id
    domain, bus, device, function = key
    return f"{domain:08X}:{bus:02X}:{device:02X}.{function}"


def _read_hex(path: str) -> int | None:
    try:
        with open(path) as handle:
            return int(handle.read().strip(), 16)
    except (OSError, ValueError):
        return None


def _driver_of(device_dir: str) -> str:
    try:
        return os.path.basename(os.readlink(os.path.join(device_dir, "driver")))
    except OSError:
        return ""


def scan_nvidia_gpus(root: str = SYSFS_PCI_DEVICES) -> tuple[PciGpu, ...] | None:
    """NVIDIA VGA/3D controllers under `root`; None when the directory cannot be read."""
    try:
        entries = sorted(os.listdir(root))
    except OSError as exc:
        log.debug("cannot list %s: %s", root, exc)
        return None
    found = []
    for entry in entries:
        device_dir = os.path.join(root, entry)
        if _read_hex(os.path.join(device_dir, "vendor")) != NVIDIA_VENDOR:
            continue
        pci_class = _read_hex(os.path.join(device_dir, "class"))
        if pci_class is None or (pci_class >> 8) not in GPU_CLASSES:
            continue
        device_id = _read_hex(os.path.join(device_dir, "device"))
        found.append(PciGpu(entry, device_id, _driver_of(device_dir)))
    return tuple(found)


def is_passthrough(gpu: PciGpu) -> bool:
    """True for a GPU handed to a VM (bound to vfio-pci or pci-stub)."""
    return gpu.driver in PASSTHROUGH_DRIVERS
