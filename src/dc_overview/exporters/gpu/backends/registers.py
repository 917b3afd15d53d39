"""VRAM and hot-spot temperature from the GPU's registers (PCI BAR0), for GDDR6/6X cards.

NVML reports no memory temperature on GeForce and most workstation cards. Their registers do:
the sysfs file /sys/bus/pci/devices/<address>/resource0 maps BAR0, and a per-device-id table
says where the VRAM temperature lives. Mapping it needs root and a kernel that allows it
(lockdown / Secure Boot refuses); when it is refused the readings stay absent.

Offsets and decoding follow what the public GDDR6 temperature readers found by reverse
engineering; they are facts about the hardware, listed here as data.
"""

from __future__ import annotations

import logging
import mmap
import os
from dataclasses import dataclass

from ..pci import SYSFS_PCI_DEVICES, sysfs_address

log = logging.getLogger(__name__)

PAGE_SIZE = mmap.ALLOCATIONGRANULARITY
VRAM_OFFSET = 0x0000E2A8
VRAM_OFFSET_GA104 = 0x0000EE50
HOT_SPOT_OFFSET = 0x0002046C
MAX_PLAUSIBLE_C = 127.0


@dataclass(frozen=True)
class RegisterLayout:
    """Where one chip keeps its temperatures in BAR0."""

    chip: str
    vram_offset: int = VRAM_OFFSET
    hot_spot_offset: int = HOT_SPOT_OFFSET


def _layouts(chip: str, device_ids: tuple[int, ...], **offsets: int) -> dict:
    return {device_id: RegisterLayout(chip, **offsets) for device_id in device_ids}


# PCI device id -> layout (Ampere GA10x and Ada AD10x boards with GDDR6/GDDR6X).
DEVICE_LAYOUTS: dict[int, RegisterLayout] = {
    **_layouts("AD102", (0x2684, 0x2685, 0x26B1, 0x26B9)),  # 4090, 4090 D, RTX 6000 Ada, L40S
    **_layouts("AD103", (0x2702, 0x2704, 0x2705)),  # 4080 SUPER, 4080, 4070 Ti SUPER
    **_layouts("AD104", (0x2782, 0x2783, 0x2786, 0x27B8)),  # 4070 Ti, 4070 SUPER, 4070, L4
    **_layouts("AD106", (0x2860,)),  # 4070 laptop
    **_layouts("GA102", (0x2203, 0x2204, 0x2206, 0x2208, 0x2216, 0x2231, 0x2232, 0x2236)),
    **_layouts("GA104", (0x2484, 0x2488), vram_offset=VRAM_OFFSET_GA104),  # 3070, 3070 LHR
    **_layouts("GA106", (0x2531, 0x2571)),  # RTX A2000
}


def decode_vram_temp(raw: int) -> float | None:
    """VRAM temperature: bits 11..0 in 1/32 degree C; None when implausible."""
    value = (raw & 0xFFF) / 32.0
    return value if 0.0 < value < MAX_PLAUSIBLE_C else None


def decode_hot_spot_temp(raw: int) -> float | None:
    """Hot spot temperature: bits 15..8 in degrees C; None when implausible."""
    value = float((raw >> 8) & 0xFF)
    return value if 0.0 < value < MAX_PLAUSIBLE_C else None


def read_u32(fileno: int, offset: int) -> int:
    """One aligned 32-bit load from a mapped file (a single load, as MMIO needs)."""
    base = offset - offset % PAGE_SIZE
    mapped = mmap.mmap(fileno, PAGE_SIZE, mmap.MAP_SHARED, mmap.PROT_READ, offset=base)
    try:
        word = memoryview(mapped)[offset - base : offset - base + 4].cast("I")
        try:
            return int(word[0])
        finally:
            word.release()
    finally:
        mapped.close()


class RegisterReader:
    """Reads the register temperatures of GPUs in the offset table; remembers refusals."""

    def __init__(self, pci_root: str = SYSFS_PCI_DEVICES) -> None:
        self._pci_root = pci_root
        self._refused: dict[str, str] = {}

    def supported(self, device_id: int | None) -> bool:
        return device_id is not None and device_id in DEVICE_LAYOUTS

    def read(self, bus_id: str, device_id: int | None) -> tuple[float | None, float | None]:
        """(VRAM, hot spot) in degrees C; (None, None) if unsupported, refused or implausible."""
        if device_id is None or device_id not in DEVICE_LAYOUTS:
            return None, None
        address = sysfs_address(bus_id)
        if address in self._refused:
            return None, None
        layout = DEVICE_LAYOUTS[device_id]
        path = os.path.join(self._pci_root, address, "resource0")
        try:
            with open(path, "rb") as resource:
                vram_raw = read_u32(resource.fileno(), layout.vram_offset)
                hot_raw = read_u32(resource.fileno(), layout.hot_spot_offset)
        except (OSError, ValueError) as exc:
            self._refused[address] = str(exc)
            log.warning(
                "register temperatures off for %s (%s): %s; they need root and a kernel "
                "that allows mapping BAR0",
                address,
                layout.chip,
                exc,
            )
            return None, None
        return decode_vram_temp(vram_raw), decode_hot_spot_temp(hot_raw)
