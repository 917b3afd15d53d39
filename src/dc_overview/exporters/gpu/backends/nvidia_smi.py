"""The fallback backend: run `nvidia-smi -q -x` (or read a saved capture) and parse the XML.

Handles DTD versions 10 to 13: the power readings moved from `power_readings/power_draw` to
`gpu_power_readings/power_draw` and then to `average_power_draw`/`instant_power_draw`, throttle
reasons were renamed to clock event reasons, ECC totals were split by SRAM/DRAM. "N/A",
"Not Supported", deprecation notices and missing elements are all absent readings.
"""

from __future__ import annotations

import logging
import re
import subprocess
import xml.etree.ElementTree as ET
from collections.abc import Iterable

from ..metrics_table import STATE_ERROR, STATE_OK, THROTTLE_REASONS
from ..pci import nvml_bus_id
from ..snapshot import BackendResult, GpuIdentity, GpuReading, GpuReadings, MigInstance
from .base import Backend, CollectionFailure

log = logging.getLogger(__name__)

_NUMBER = re.compile(r"^\s*(-?\d+(?:\.\d+)?)")
_ERROR_MARKERS = ("Unknown Error", "GPU requires reset", "GPU is lost", "[Unknown Error]")

POWER_DRAW_PATHS = tuple(
    f"{section}/{name}"
    for section in ("gpu_power_readings", "power_readings")
    for name in ("power_draw", "average_power_draw", "instant_power_draw")
)
POWER_LIMIT_PATHS = (
    "gpu_power_readings/current_power_limit",
    "power_readings/current_power_limit",
    "power_readings/power_limit",
    "power_readings/enforced_power_limit",
)
ECC_SBE_PATHS = (
    "volatile/single_bit/total",
    "volatile/sram_correctable",
    "volatile/dram_correctable",
)
ECC_DBE_PATHS = (
    "volatile/double_bit/total",
    "volatile/sram_uncorrectable",
    "volatile/sram_uncorrectable_parity",
    "volatile/sram_uncorrectable_secded",
    "volatile/dram_uncorrectable",
)


def _text(element: ET.Element | None, path: str) -> str:
    if element is None:
        return ""
    found = element.find(path)
    if found is None or found.text is None:
        return ""
    return found.text.strip()


def number(text: str) -> float | None:
    """The leading number of "31 C", "22.78 W", "8001 MHz", "37 %"; None for N/A and the like."""
    match = _NUMBER.match(text)
    return float(match.group(1)) if match else None


def _value(element: ET.Element | None, path: str) -> float | None:
    return number(_text(element, path))


def _first(element: ET.Element, paths: Iterable[str]) -> float | None:
    for path in paths:
        value = _value(element, path)
        if value is not None:
            return value
    return None


def _sum(element: ET.Element | None, paths: Iterable[str]) -> float | None:
    values = [_value(element, path) for path in paths]
    present = [value for value in values if value is not None]
    return sum(present) if present else None


def _pstate(text: str) -> float | None:
    match = re.match(r"^P(\d{1,2})$", text)
    return float(match.group(1)) if match else None


def _throttle_reasons(gpu: ET.Element) -> tuple[tuple[str, float], ...]:
    section = gpu.find("clocks_event_reasons")
    prefix = "clocks_event_reason_"
    if section is None:
        section = gpu.find("clocks_throttle_reasons")
        prefix = "clocks_throttle_reason_"
    if section is None:
        return ()
    reasons = []
    for _, label, suffix in THROTTLE_REASONS:
        state = _text(section, prefix + suffix)
        if state in ("Active", "Not Active"):
            reasons.append((label, 1.0 if state == "Active" else 0.0))
    return tuple(reasons)


def _mig(gpu: ET.Element) -> tuple[float | None, tuple[MigInstance, ...]]:
    mode = _text(gpu, "mig_mode/current_mig")
    mig_mode = {"Enabled": 1.0, "Disabled": 0.0}.get(mode)
    instances = []
    for device in gpu.findall("mig_devices/mig_device"):
        gi_id = _value(device, "gpu_instance_id")
        if gi_id is None:
            continue
        ci_id = _value(device, "compute_instance_id")
        instances.append(
            MigInstance(
                gpu_instance_id=int(gi_id),
                compute_instance_id=None if ci_id is None else int(ci_id),
                fb_free=_value(device, "fb_memory_usage/free"),
                fb_used=_value(device, "fb_memory_usage/used"),
            )
        )
    return mig_mode, tuple(instances)


def _identity(gpu: ET.Element, index: int) -> GpuIdentity:
    minor = _value(gpu, "minor_number")
    device_id_text = _text(gpu, "pci/pci_device_id")
    try:
        device_id: int | None = int(device_id_text, 16) >> 16 if device_id_text else None
    except ValueError:
        device_id = None
    bus_id = _text(gpu, "pci/pci_bus_id") or gpu.get("id", "")
    return GpuIdentity(
        index=index,
        uuid=_text(gpu, "uuid"),
        pci_bus_id=nvml_bus_id(bus_id) if bus_id else "",
        device=f"nvidia{int(minor)}" if minor is not None else "",
        model=_text(gpu, "product_name"),
        pci_device_id=device_id,
    )


def _error_state(gpu: ET.Element) -> float:
    for path in ("product_name", "uuid", "temperature/gpu_temp", "fb_memory_usage/used"):
        text = _text(gpu, path)
        if any(marker in text for marker in _ERROR_MARKERS):
            return float(STATE_ERROR)
    return float(STATE_OK)


def _readings(gpu: ET.Element, mig_mode: float | None) -> GpuReadings:
    ecc = gpu.find("ecc_errors")
    return GpuReadings(
        gpu_temp=_value(gpu, "temperature/gpu_temp"),
        memory_temp=_value(gpu, "temperature/memory_temp"),
        power_usage=_first(gpu, POWER_DRAW_PATHS),
        power_mgmt_limit=_first(gpu, POWER_LIMIT_PATHS),
        sm_clock=_value(gpu, "clocks/sm_clock"),
        mem_clock=_value(gpu, "clocks/mem_clock"),
        gpu_util=_value(gpu, "utilization/gpu_util"),
        mem_copy_util=_value(gpu, "utilization/memory_util"),
        enc_util=_value(gpu, "utilization/encoder_util"),
        dec_util=_value(gpu, "utilization/decoder_util"),
        fb_free=_value(gpu, "fb_memory_usage/free"),
        fb_used=_value(gpu, "fb_memory_usage/used"),
        fan_speed=_value(gpu, "fan_speed"),
        pstate=_pstate(_text(gpu, "performance_state")),
        pcie_replay_counter=_value(gpu, "pci/replay_counter"),
        ecc_sbe_vol_total=_sum(ecc, ECC_SBE_PATHS),
        ecc_dbe_vol_total=_sum(ecc, ECC_DBE_PATHS),
        correctable_remapped_rows=_value(gpu, "remapped_rows/remapped_row_corr"),
        uncorrectable_remapped_rows=_value(gpu, "remapped_rows/remapped_row_unc"),
        mig_mode=mig_mode,
        error_state=_error_state(gpu),
        throttle_reasons=_throttle_reasons(gpu),
    )


def parse_gpu(gpu: ET.Element, index: int) -> GpuReading:
    """One `<gpu>` element; the index is its position (nvidia-smi lists GPUs in NVML order)."""
    mig_mode, instances = _mig(gpu)
    return GpuReading(_identity(gpu, index), _readings(gpu, mig_mode), instances)


def parse_xml(data: bytes | str) -> BackendResult:
    """Parse `nvidia-smi -q -x` output. Raises CollectionFailure("parse_error") on bad XML."""
    try:
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        raise CollectionFailure("parse_error", f"nvidia-smi XML does not parse: {exc}") from exc
    if root.tag != "nvidia_smi_log":
        raise CollectionFailure("parse_error", f"unexpected XML root <{root.tag}>")
    gpus = tuple(parse_gpu(gpu, index) for index, gpu in enumerate(root.findall("gpu")))
    attached = _value(root, "attached_gpus")
    return BackendResult(
        gpus=gpus,
        driver_version=_text(root, "driver_version"),
        attached_gpus=int(attached) if attached is not None else len(gpus),
    )


def failure_from_output(returncode: int, output: str) -> CollectionFailure:
    """Map a failed nvidia-smi run to a reason a person can act on."""
    lowered = output.lower()
    if "couldn't communicate with the nvidia driver" in lowered or "driver not loaded" in lowered:
        reason = "driver_not_loaded"
    elif "no devices were found" in lowered:
        reason = "no_gpus"
    elif "driver/library version mismatch" in lowered:
        reason = "driver_library_mismatch"
    else:
        reason = "nvidia_smi_failed"
    first_line = output.strip().splitlines()[0] if output.strip() else ""
    return CollectionFailure(reason, f"nvidia-smi exited {returncode}: {first_line}"[:300])


class NvidiaSmiBackend(Backend):
    """Runs `nvidia-smi -q -x` each collection, or replays a saved capture file."""

    name = "nvidia-smi"

    def __init__(
        self, binary: str = "nvidia-smi", xml_file: str = "", timeout: float = 10.0
    ) -> None:
        self._binary = binary
        self._xml_file = xml_file
        self._timeout = timeout

    def read(self) -> BackendResult:
        if self._xml_file:
            try:
                with open(self._xml_file, "rb") as handle:
                    return parse_xml(handle.read())
            except OSError as exc:
                raise CollectionFailure("capture_unreadable", str(exc)) from exc
        return parse_xml(self._run())

    def _run(self) -> bytes:
        try:
            process = subprocess.Popen(
                [self._binary, "-q", "-x"],
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        except FileNotFoundError as exc:
            raise CollectionFailure(
                "nvidia_smi_not_found", f"{self._binary} not found: no NVIDIA driver installed?"
            ) from exc
        except OSError as exc:
            raise CollectionFailure("nvidia_smi_failed", f"{self._binary}: {exc}") from exc
        try:
            output, _ = process.communicate(timeout=self._timeout)
        except subprocess.TimeoutExpired as exc:
            _abandon(process)
            raise CollectionFailure(
                "timeout", f"{self._binary} gave no answer within {self._timeout:g}s"
            ) from exc
        if process.returncode != 0:
            raise failure_from_output(process.returncode, output.decode(errors="replace"))
        return output


def _abandon(process: subprocess.Popen) -> None:
    """Kill a hung nvidia-smi; never wait long for it (a process in D state cannot die)."""
    process.kill()
    try:
        process.communicate(timeout=1.0)
    except subprocess.TimeoutExpired:
        log.error("nvidia-smi (pid %s) does not die; leaving it behind", process.pid)
