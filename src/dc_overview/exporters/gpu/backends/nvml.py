"""The default backend: NVML through nvidia-ml-py (`pynvml`), imported only when used.

Each call that fails for a reading (NOT_SUPPORTED, NO_PERMISSION, ...) leaves that reading
absent. Field values (`nvmlDeviceGetFieldValues`) carry their own return code per field; a
field whose `nvmlReturn` is not SUCCESS is absent whatever its value says.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from ..metrics_table import STATE_ERROR, STATE_OK, THROTTLE_REASONS
from ..pci import nvml_bus_id
from ..snapshot import BackendResult, GpuIdentity, GpuReading, GpuReadings, MigInstance
from .base import Backend, CollectionFailure

log = logging.getLogger(__name__)

MIB = 1024.0 * 1024.0
PSTATE_UNKNOWN = 32

# Field-value readings: snapshot field -> NVML field id constant name.
FIELDS = (
    ("memory_temp", "NVML_FI_DEV_MEMORY_TEMP"),
    ("total_energy_consumption", "NVML_FI_DEV_TOTAL_ENERGY_CONSUMPTION"),
    ("pcie_replay_counter", "NVML_FI_DEV_PCIE_REPLAY_COUNTER"),
    ("ecc_sbe_vol_total", "NVML_FI_DEV_ECC_SBE_VOL_TOTAL"),
    ("ecc_dbe_vol_total", "NVML_FI_DEV_ECC_DBE_VOL_TOTAL"),
)

# NVML return codes that mean "the whole library is unusable", with our reason label.
INIT_REASONS = {
    "NVML_ERROR_LIBRARY_NOT_FOUND": "nvml_library_not_found",
    "NVML_ERROR_DRIVER_NOT_LOADED": "driver_not_loaded",
    "NVML_ERROR_NO_PERMISSION": "no_permission",
    "NVML_ERROR_LIB_RM_VERSION_MISMATCH": "driver_library_mismatch",
    "NVML_ERROR_FUNCTION_NOT_FOUND": "nvml_function_not_found",
}

_VALUE_MEMBERS = ("dVal", "uiVal", "ulVal", "ullVal", "sllVal", "siVal", "usVal")


def _text(value: Any) -> str:
    return value.decode(errors="replace") if isinstance(value, bytes) else str(value)


def field_value(nv: Any, field: Any) -> float | None:
    """The value of one nvmlFieldValue_t, or None unless its own nvmlReturn is SUCCESS."""
    if field.nvmlReturn != nv.NVML_SUCCESS:
        return None
    member = _VALUE_MEMBERS[field.valueType] if 0 <= field.valueType < 7 else None
    return None if member is None else float(getattr(field.value, member))


class _Device:
    """Calls for one device; a failed call is an absent reading, a lost GPU is remembered."""

    def __init__(self, nv: Any, handle: Any) -> None:
        self.nv = nv
        self.handle = handle
        self.lost = False

    def call(self, function: Callable, *args: Any) -> Any:
        try:
            return function(self.handle, *args)
        except self.nv.NVMLError as exc:
            if getattr(exc, "value", None) in (
                self.nv.NVML_ERROR_GPU_IS_LOST,
                self.nv.NVML_ERROR_RESET_REQUIRED,
            ):
                self.lost = True
            return None

    def number(self, function: Callable, *args: Any, scale: float = 1.0) -> float | None:
        value = self.call(function, *args)
        return None if value is None else float(value) / scale

    def fields(self) -> dict[str, float | None]:
        """The FIELDS readings; each judged by its own return code."""
        nv = self.nv
        wanted = [
            (name, getattr(nv, constant)) for name, constant in FIELDS if hasattr(nv, constant)
        ]
        values = self.call(nv.nvmlDeviceGetFieldValues, [fid for _, fid in wanted])
        result: dict[str, float | None] = {name: None for name, _ in FIELDS}
        if values is None or len(values) != len(wanted):
            return result
        for position, (name, _) in enumerate(wanted):
            result[name] = field_value(nv, values[position])
        return result


class NvmlBackend(Backend):
    """Reads every GPU through NVML; initialises lazily and again after a failure."""

    name = "nvml"

    def __init__(self, nvml: Any = None) -> None:
        self._nv = nvml
        self._initialized = False
        self._xid = None

    def read(self) -> BackendResult:
        nv = self._module()
        self._ensure_initialized(nv)
        try:
            count = nv.nvmlDeviceGetCount()
        except nv.NVMLError as exc:
            raise self._failure(nv, exc) from exc
        driver = _optional(nv, nv.nvmlSystemGetDriverVersion)
        if self._xid is None:
            self._xid = XidWatcher(nv)
        self._xid.poll()
        gpus = tuple(self._read_gpu(nv, index) for index in range(count))
        return BackendResult(gpus, _text(driver) if driver is not None else "", count)

    def close(self) -> None:
        if self._initialized and self._nv is not None:
            if self._xid is not None:
                self._xid.close()
            _optional(self._nv, self._nv.nvmlShutdown)
            self._initialized = False

    def _module(self) -> Any:
        if self._nv is None:
            try:
                import pynvml
            except ImportError as exc:
                raise CollectionFailure(
                    "nvml_not_installed", "Python module pynvml (nvidia-ml-py) is missing"
                ) from exc
            self._nv = pynvml
        return self._nv

    def _ensure_initialized(self, nv: Any) -> None:
        if self._initialized:
            return
        try:
            nv.nvmlInit()
        except nv.NVMLError as exc:
            raise self._failure(nv, exc) from exc
        self._initialized = True

    def _failure(self, nv: Any, exc: Exception) -> CollectionFailure:
        value = getattr(exc, "value", None)
        reason = "nvml_error"
        for constant, label in INIT_REASONS.items():
            if value is not None and value == getattr(nv, constant, object()):
                reason = label
        if value in (nv.NVML_ERROR_UNINITIALIZED, nv.NVML_ERROR_DRIVER_NOT_LOADED):
            self._initialized = False
        return CollectionFailure(reason, f"NVML: {exc}")

    def _read_gpu(self, nv: Any, index: int) -> GpuReading:
        try:
            handle = nv.nvmlDeviceGetHandleByIndex(index)
        except nv.NVMLError:
            readings = GpuReadings(error_state=float(STATE_ERROR))
            return GpuReading(GpuIdentity(index=index), readings)
        device = _Device(nv, handle)
        identity = _identity(device, index)
        readings, instances = _readings(device), _mig_instances(device)
        xid = self._xid.last_xid(identity.uuid) if self._xid is not None else None
        state = STATE_ERROR if device.lost else STATE_OK
        readings = _replace(readings, xid_errors=xid, error_state=float(state))
        return GpuReading(identity, readings, instances)


def _optional(nv: Any, function: Callable, *args: Any) -> Any:
    try:
        return function(*args)
    except nv.NVMLError:
        return None


def _replace(readings: GpuReadings, **changes: Any) -> GpuReadings:
    values = dict(readings.__dict__)
    values.update(changes)
    return GpuReadings(**values)


def _identity(device: _Device, index: int) -> GpuIdentity:
    nv = device.nv
    pci = device.call(nv.nvmlDeviceGetPciInfo)
    minor = device.call(nv.nvmlDeviceGetMinorNumber)
    bus_id = _text(getattr(pci, "busId", "")) if pci is not None else ""
    device_id = getattr(pci, "pciDeviceId", None) if pci is not None else None
    return GpuIdentity(
        index=index,
        uuid=_text(device.call(nv.nvmlDeviceGetUUID) or ""),
        pci_bus_id=nvml_bus_id(bus_id) if bus_id else "",
        device=f"nvidia{minor}" if minor is not None else "",
        model=_text(device.call(nv.nvmlDeviceGetName) or ""),
        pci_device_id=(int(device_id) >> 16) if device_id is not None else None,
    )


def _readings(device: _Device) -> GpuReadings:
    nv = device.nv
    fields = device.fields()
    utilization = device.call(nv.nvmlDeviceGetUtilizationRates)
    memory = device.call(nv.nvmlDeviceGetMemoryInfo)
    remapped = device.call(nv.nvmlDeviceGetRemappedRows)
    pstate = device.call(nv.nvmlDeviceGetPerformanceState)
    return GpuReadings(
        gpu_temp=device.number(nv.nvmlDeviceGetTemperature, nv.NVML_TEMPERATURE_GPU),
        hot_spot_temp=_hot_spot(device),
        power_usage=device.number(nv.nvmlDeviceGetPowerUsage, scale=1000.0),
        power_mgmt_limit=device.number(nv.nvmlDeviceGetPowerManagementLimit, scale=1000.0),
        sm_clock=device.number(nv.nvmlDeviceGetClockInfo, nv.NVML_CLOCK_SM),
        mem_clock=device.number(nv.nvmlDeviceGetClockInfo, nv.NVML_CLOCK_MEM),
        gpu_util=float(utilization.gpu) if utilization is not None else None,
        mem_copy_util=float(utilization.memory) if utilization is not None else None,
        enc_util=_first_of(device.call(nv.nvmlDeviceGetEncoderUtilization)),
        dec_util=_first_of(device.call(nv.nvmlDeviceGetDecoderUtilization)),
        fb_free=memory.free / MIB if memory is not None else None,
        fb_used=memory.used / MIB if memory is not None else None,
        fan_speed=device.number(nv.nvmlDeviceGetFanSpeed),
        pstate=float(pstate) if pstate is not None and pstate != PSTATE_UNKNOWN else None,
        correctable_remapped_rows=float(remapped[0]) if remapped else None,
        uncorrectable_remapped_rows=float(remapped[1]) if remapped else None,
        mig_mode=_mig_mode(device),
        throttle_reasons=_throttle_reasons(device),
        **fields,
    )


def _first_of(pair: Any) -> float | None:
    return float(pair[0]) if pair else None


def _hot_spot(device: _Device) -> float | None:
    sensor = getattr(device.nv, "NVML_TEMPERATURE_GPU_MAX", None)
    if sensor is None:
        return None
    return device.number(device.nv.nvmlDeviceGetTemperature, sensor)


def _mig_mode(device: _Device) -> float | None:
    modes = device.call(device.nv.nvmlDeviceGetMigMode)
    return float(modes[0]) if modes else None


def _throttle_reasons(device: _Device) -> tuple[tuple[str, float], ...]:
    nv = device.nv
    supported_fn = getattr(nv, "nvmlDeviceGetSupportedClocksEventReasons", None)
    current_fn = getattr(nv, "nvmlDeviceGetCurrentClocksEventReasons", None)
    if supported_fn is None or current_fn is None:
        supported_fn = nv.nvmlDeviceGetSupportedClocksThrottleReasons
        current_fn = nv.nvmlDeviceGetCurrentClocksThrottleReasons
    supported, current = device.call(supported_fn), device.call(current_fn)
    if supported is None or current is None:
        return ()
    return tuple(
        (label, 1.0 if current & bit else 0.0)
        for bit, label, _ in THROTTLE_REASONS
        if supported & bit
    )


def _mig_instances(device: _Device) -> tuple[MigInstance, ...]:
    nv = device.nv
    modes = device.call(nv.nvmlDeviceGetMigMode)
    if not modes or modes[0] != getattr(nv, "NVML_DEVICE_MIG_ENABLE", 1):
        return ()
    count = device.call(nv.nvmlDeviceGetMaxMigDeviceCount) or 0
    instances = []
    for slot in range(count):
        handle = device.call(nv.nvmlDeviceGetMigDeviceHandleByIndex, slot)
        if handle is None:
            continue
        mig = _Device(nv, handle)
        gi_id = mig.call(nv.nvmlDeviceGetGpuInstanceId)
        if gi_id is None:
            continue
        memory = mig.call(nv.nvmlDeviceGetMemoryInfo)
        instances.append(
            MigInstance(
                gpu_instance_id=int(gi_id),
                compute_instance_id=mig.call(nv.nvmlDeviceGetComputeInstanceId),
                fb_free=memory.free / MIB if memory is not None else None,
                fb_used=memory.used / MIB if memory is not None else None,
            )
        )
    return tuple(instances)


class XidWatcher:
    """Keeps the last XID error per GPU from an NVML event set (polled without waiting)."""

    def __init__(self, nv: Any) -> None:
        self._nv = nv
        self._last: dict[str, float] = {}
        self._watched: set = set()
        self._events = _optional(nv, nv.nvmlEventSetCreate)
        if self._events is None:
            return
        count = _optional(nv, nv.nvmlDeviceGetCount) or 0
        for index in range(count):
            handle = _optional(nv, nv.nvmlDeviceGetHandleByIndex, index)
            uuid = _optional(nv, nv.nvmlDeviceGetUUID, handle) if handle is not None else None
            if uuid is None:
                continue
            mask = getattr(nv, "nvmlEventTypeXidCriticalError", 0x8)
            try:
                nv.nvmlDeviceRegisterEvents(handle, mask, self._events)
            except nv.NVMLError:
                continue
            self._watched.add(_text(uuid))

    def poll(self) -> None:
        """Drain pending events; never blocks (timeout 0)."""
        if self._events is None:
            return
        for _ in range(1000):
            try:
                data = self._nv.nvmlEventSetWait(self._events, 0)
            except self._nv.NVMLError:
                return
            uuid = _optional(self._nv, self._nv.nvmlDeviceGetUUID, data.device)
            if uuid is not None:
                self._last[_text(uuid)] = float(data.eventData)

    def last_xid(self, uuid: str) -> float | None:
        """The last XID seen (0 if none yet) for a watched GPU; None if events are unsupported."""
        if uuid not in self._watched:
            return None
        return self._last.get(uuid, 0.0)

    def close(self) -> None:
        if self._events is not None:
            _optional(self._nv, self._nv.nvmlEventSetFree, self._events)
            self._events = None
