"""The NVML backend against a fake pynvml (real constants, errors and field structures)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pynvml
import pytest

from dc_overview.exporters.gpu.backends.base import CollectionFailure
from dc_overview.exporters.gpu.backends.nvml import NvmlBackend, field_value
from dc_overview.exporters.gpu.collector import CollectionLoop, Exposition
from tests.unit.exporters.fake_nvml import Error, FakeGpu, FakeNvml, pci_info
from tests.unit.exporters.helpers import assert_promtool_passes, samples, value_of

NOT_SUPPORTED = Error(pynvml.NVML_ERROR_NOT_SUPPORTED)
UINT, ULL, DOUBLE = (
    pynvml.NVML_VALUE_TYPE_UNSIGNED_INT,
    pynvml.NVML_VALUE_TYPE_UNSIGNED_LONG_LONG,
    pynvml.NVML_VALUE_TYPE_DOUBLE,
)
OK = pynvml.NVML_SUCCESS


def h200(**overrides) -> FakeGpu:
    """An H200 as its captures describe it: memory temperature supported, no fan."""
    answers = {
        "nvmlDeviceGetUUID": "GPU-00000000-0000-0000-0000-000000000000",
        "nvmlDeviceGetName": "NVIDIA H200",
        "nvmlDeviceGetPciInfo": pci_info("00000000:19:00.0", 0x2335),
        "nvmlDeviceGetMinorNumber": 0,
        "nvmlDeviceGetTemperature": lambda sensor: {0: 28, 1: 36}.get(sensor, NOT_SUPPORTED),
        "nvmlDeviceGetPowerUsage": 77670,
        "nvmlDeviceGetPowerManagementLimit": 700000,
        "nvmlDeviceGetClockInfo": lambda clock: {
            pynvml.NVML_CLOCK_SM: 345,
            pynvml.NVML_CLOCK_MEM: 3201,
        }[clock],
        "nvmlDeviceGetUtilizationRates": SimpleNamespace(gpu=0, memory=0),
        "nvmlDeviceGetEncoderUtilization": [0, 167000],
        "nvmlDeviceGetDecoderUtilization": [0, 167000],
        "nvmlDeviceGetMemoryInfo": SimpleNamespace(
            free=140 * 2**30, used=512 * 2**20, total=141 * 2**30
        ),
        "nvmlDeviceGetFanSpeed": NOT_SUPPORTED,
        "nvmlDeviceGetPerformanceState": 0,
        "nvmlDeviceGetRemappedRows": (0, 0, 0, 0),
        "nvmlDeviceGetMigMode": [0, 0],
        "nvmlDeviceGetSupportedClocksEventReasons": 0x1 | 0x4 | 0x8,
        "nvmlDeviceGetCurrentClocksEventReasons": 0x4,
    }
    answers.update(overrides)
    fields = {
        pynvml.NVML_FI_DEV_MEMORY_TEMP: (OK, UINT, 32),
        pynvml.NVML_FI_DEV_TOTAL_ENERGY_CONSUMPTION: (OK, ULL, 123456789),
        pynvml.NVML_FI_DEV_PCIE_REPLAY_COUNTER: (OK, ULL, 0),
        pynvml.NVML_FI_DEV_ECC_SBE_VOL_TOTAL: (OK, ULL, 2),
        pynvml.NVML_FI_DEV_ECC_DBE_VOL_TOTAL: (OK, ULL, 0),
    }
    return FakeGpu(answers, fields)


def read(gpus: list[FakeGpu], **kwargs):
    return NvmlBackend(FakeNvml(gpus, **kwargs)).read()


def test_readings_and_units() -> None:
    result = read([h200()])
    assert result.driver_version == "590.48.01" and result.attached_gpus == 1
    gpu = result.gpus[0]
    assert gpu.identity.pci_bus_id == "00000000:19:00.0"
    assert gpu.identity.pci_device_id == 0x2335 and gpu.identity.device == "nvidia0"
    r = gpu.readings
    assert (r.gpu_temp, r.memory_temp, r.hot_spot_temp) == (28, 32, 36)
    assert (r.power_usage, r.power_mgmt_limit) == (pytest.approx(77.67), 700)
    assert r.total_energy_consumption == 123456789
    assert (r.sm_clock, r.mem_clock, r.fb_used, r.fb_free) == (345, 3201, 512, 140 * 1024)
    assert r.fan_speed is None  # NOT_SUPPORTED: absent, never 0
    assert dict(r.throttle_reasons) == {"GpuIdle": 0.0, "SwPowerCap": 1.0, "HwSlowdown": 0.0}
    assert (r.ecc_sbe_vol_total, r.ecc_dbe_vol_total, r.error_state) == (2, 0, 1)


def test_field_return_codes_decide_each_field() -> None:
    gpu = h200()
    gpu.fields[pynvml.NVML_FI_DEV_MEMORY_TEMP] = (pynvml.NVML_ERROR_NOT_SUPPORTED, UINT, 0)
    gpu.fields[pynvml.NVML_FI_DEV_TOTAL_ENERGY_CONSUMPTION] = (
        pynvml.NVML_ERROR_NO_PERMISSION,
        ULL,
        987654,
    )
    gpu.fields[pynvml.NVML_FI_DEV_ECC_SBE_VOL_TOTAL] = (pynvml.NVML_ERROR_UNKNOWN, ULL, 7)
    r = read([gpu]).gpus[0].readings
    assert r.memory_temp is None, "a field with nvmlReturn != SUCCESS must be absent"
    assert r.total_energy_consumption is None
    assert r.ecc_sbe_vol_total is None
    assert r.pcie_replay_counter == 0  # SUCCESS with value 0 is a real 0
    assert r.ecc_dbe_vol_total == 0


def test_field_value_types() -> None:
    nv = FakeNvml([])
    gpu = FakeGpu(fields={1: (OK, DOUBLE, 41.5), 2: (OK, UINT, 7), 3: (9, UINT, 7)})
    values = nv.nvmlDeviceGetFieldValues(gpu, [1, 2, 3])
    assert [field_value(nv, v) for v in values] == [41.5, 7.0, None]
    values[0].valueType = 42
    assert field_value(nv, values[0]) is None


def test_whole_field_call_unsupported(tmp_path: Path) -> None:
    gpu = h200(nvmlDeviceGetFieldValues=NOT_SUPPORTED)
    nv = FakeNvml([gpu])
    nv.nvmlDeviceGetFieldValues = lambda handle, ids: (_ for _ in ()).throw(
        pynvml.NVMLError(pynvml.NVML_ERROR_NOT_SUPPORTED)
    )
    r = NvmlBackend(nv).read().gpus[0].readings
    assert (r.memory_temp, r.total_energy_consumption, r.pcie_replay_counter) == (None, None, None)


def test_vram_temp_from_the_memory_temperature_field(tmp_path: Path) -> None:
    loop = CollectionLoop(NvmlBackend(FakeNvml([h200()])), hostname="h", pci_root=str(tmp_path))
    loop.collect_once()
    text = Exposition(loop).render("")[0].decode()
    parsed = samples(text)
    assert value_of(parsed, "DCGM_FI_DEV_VRAM_TEMP") == 32
    assert value_of(parsed, "DCGM_FI_DEV_MEMORY_TEMP") == 32
    assert value_of(parsed, "DCGM_FI_DEV_HOT_SPOT_TEMP") == 36
    assert value_of(parsed, "DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION") == 123456789
    assert "DCGM_FI_DEV_FAN_SPEED" not in parsed
    assert_promtool_passes(text)


def test_geforce_without_memory_or_hot_spot_sensor() -> None:
    gpu = h200(nvmlDeviceGetTemperature=lambda sensor: 43 if sensor == 0 else NOT_SUPPORTED)
    gpu.fields[pynvml.NVML_FI_DEV_MEMORY_TEMP] = (pynvml.NVML_ERROR_NOT_SUPPORTED, UINT, 0)
    r = read([gpu]).gpus[0].readings
    assert (r.gpu_temp, r.memory_temp, r.hot_spot_temp) == (43, None, None)


def test_lost_gpu_is_an_error_state() -> None:
    lost = h200(nvmlDeviceGetPowerUsage=Error(pynvml.NVML_ERROR_GPU_IS_LOST))
    result = read([h200(), lost])
    assert [g.readings.error_state for g in result.gpus] == [1, 2]
    assert result.gpus[1].readings.power_usage is None


def test_unknown_pstate_is_absent() -> None:
    assert read([h200(nvmlDeviceGetPerformanceState=32)]).gpus[0].readings.pstate is None


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        (pynvml.NVML_ERROR_LIBRARY_NOT_FOUND, "nvml_library_not_found"),
        (pynvml.NVML_ERROR_DRIVER_NOT_LOADED, "driver_not_loaded"),
        (pynvml.NVML_ERROR_NO_PERMISSION, "no_permission"),
        (pynvml.NVML_ERROR_UNKNOWN, "nvml_error"),
    ],
)
def test_init_failure_reason_and_retry(code: int, reason: str) -> None:
    nv = FakeNvml([h200()], init_errors=[code])
    backend = NvmlBackend(nv)
    with pytest.raises(CollectionFailure) as failure:
        backend.read()
    assert failure.value.reason == reason
    assert len(backend.read().gpus) == 1  # the next collection initialises again
    assert nv.calls.count("nvmlInit") == 2
    backend.close()
    assert "nvmlShutdown" in nv.calls


def test_mig_instances() -> None:
    mig = [
        FakeGpu(
            {
                "nvmlDeviceGetGpuInstanceId": gi,
                "nvmlDeviceGetComputeInstanceId": 0,
                "nvmlDeviceGetMemoryInfo": SimpleNamespace(free=10 * 2**20, used=2 * 2**20),
            }
        )
        for gi in (1, 2)
    ]
    gpu = h200(nvmlDeviceGetMigMode=[1, 1], nvmlDeviceGetMaxMigDeviceCount=7)
    gpu.mig = mig
    reading = read([gpu]).gpus[0]
    assert reading.readings.mig_mode == 1
    assert [(i.gpu_instance_id, i.fb_used, i.fb_free) for i in reading.mig_instances] == [
        (1, 2, 10),
        (2, 2, 10),
    ]


def test_xid_errors_from_events() -> None:
    first, second, third = h200(), h200(), h200(xid_events=False)
    second.answers["nvmlDeviceGetUUID"] = "GPU-2"
    third.answers["nvmlDeviceGetUUID"] = "GPU-3"
    nv = FakeNvml([first, second, third])
    backend = NvmlBackend(nv)
    assert [g.readings.xid_errors for g in backend.read().gpus] == [0, 0, None]
    nv.events.append(SimpleNamespace(device=second, eventData=79))
    assert [g.readings.xid_errors for g in backend.read().gpus] == [0, 79, None]
    assert nv.registered == [pynvml.nvmlEventTypeXidCriticalError] * 2


def test_missing_pynvml_module(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "pynvml", None)
    with pytest.raises(CollectionFailure) as failure:
        NvmlBackend().read()
    assert failure.value.reason == "nvml_not_installed"
