"""The nvidia-smi XML backend against every real capture in ../shared/fixtures/nvidia-smi."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest

from dc_overview.exporters.gpu.backends.base import CollectionFailure
from dc_overview.exporters.gpu.backends.nvidia_smi import (
    NvidiaSmiBackend,
    failure_from_output,
    parse_xml,
)
from tests.unit.exporters.helpers import capture, capture_names

# Per capture and GPU: the values the capture holds (read off the files; see SOURCES.md).
# Every reading listed as None is N/A or absent in the capture and must stay absent.
EXPECTED = {
    "3090-v13.xml": [
        dict(
            uuid="GPU-12345678-aaaa-bbbb-cccc-0123456789ab",
            pci_bus_id="00000000:09:00.0",
            device="nvidia0",
            model="NVIDIA GeForce RTX 3090",
            gpu_temp=32,
            memory_temp=None,
            power_usage=35.06,
            power_mgmt_limit=350,
            sm_clock=210,
            mem_clock=405,
            gpu_util=0,
            mem_copy_util=1,
            enc_util=0,
            dec_util=0,
            fb_used=7,
            fb_free=24120,
            fan_speed=0,
            pstate=8,
            ecc_sbe_vol_total=None,
            correctable_remapped_rows=None,
        )
    ],
    "a100-sxm4-v12.xml": [
        dict(
            uuid="GPU-513536b6-7d19-9063-b049-1e69664bb298",
            pci_bus_id="00000000:01:00.0",
            device="nvidia1",
            model="NVIDIA A100-SXM4-80GB",
            gpu_temp=27,
            memory_temp=44,
            power_usage=67.03,
            power_mgmt_limit=500,
            sm_clock=1275,
            mem_clock=1593,
            gpu_util=None,
            mem_copy_util=None,
            enc_util=None,
            dec_util=None,
            fb_used=50,
            fb_free=80999,
            fan_speed=None,
            pstate=0,
            ecc_sbe_vol_total=0,
            ecc_dbe_vol_total=0,
            mig_mode=1,
        )
    ],
    "dual_a5000-v13.xml": [
        dict(
            uuid="GPU-12345678-aaaa-bbbb-cccc-0123456789ab",
            pci_bus_id="00000000:81:00.0",
            device="nvidia1",
            model="NVIDIA RTX A5000",
            gpu_temp=13,
            memory_temp=None,
            power_usage=6.41,
            power_mgmt_limit=230,
            fb_used=22437,
            fb_free=1678,
            gpu_util=0,
            fan_speed=30,
            correctable_remapped_rows=0,
            uncorrectable_remapped_rows=0,
        ),
        dict(
            uuid="GPU-12345678-aaaa-bbbb-cccc-0123456789cd",
            pci_bus_id="00000000:C1:00.0",
            device="nvidia0",
            model="NVIDIA RTX A5000",
            gpu_temp=15,
            memory_temp=None,
            power_usage=13.60,
            power_mgmt_limit=230,
            fb_used=17253,
            fb_free=6862,
        ),
    ],
    "gtx-1070-ti.xml": [
        dict(
            uuid="GPU-f9ba66fc-a7f5-94c5-da19-019ef2f9c665",
            pci_bus_id="00000000:01:00.0",
            device="",
            model="GeForce GTX 1070 Ti",
            gpu_temp=39,
            memory_temp=None,
            power_usage=None,
            power_mgmt_limit=None,
            sm_clock=135,
            mem_clock=405,
            gpu_util=0,
            mem_copy_util=0,
            enc_util=None,
            fb_used=42,
            fb_free=4054,
            fan_speed=100,
            pstate=8,
            pcie_replay_counter=None,
        )
    ],
    "rtx-3080-v12.xml": [
        dict(
            uuid="GPU-19d6d965-2acc-f646-00f8-4c76979aabb4",
            pci_bus_id="00000000:04:00.0",
            device="",
            model="NVIDIA GeForce RTX 3080",
            gpu_temp=31,
            memory_temp=None,
            power_usage=22.78,
            power_mgmt_limit=336,
            mem_copy_util=37,
            fb_used=1128,
            fb_free=8938,
            fan_speed=0,
            pstate=8,
        )
    ],
    "rtx-4000-sff-ada-v13.xml": [
        dict(
            uuid="GPU-37037c3f-65c8-ec4d-24a9-420204ad8026",
            pci_bus_id="00000000:06:00.0",
            device="nvidia0",
            model="NVIDIA RTX 4000 SFF Ada Generation",
            gpu_temp=38,
            memory_temp=None,
            power_usage=8.81,
            power_mgmt_limit=70,
            sm_clock=210,
            mem_clock=405,
            fb_used=3534,
            fb_free=16482,
            fan_speed=30,
        )
    ],
    "tesla-t4.xml": [
        dict(
            uuid="GPU-d37e67a5-91dd-3774-a5cb-99096249601a",
            pci_bus_id="00000000:00:1E.0",
            device="nvidia0",
            model="Tesla T4",
            gpu_temp=40,
            memory_temp=None,
            power_usage=26.78,
            power_mgmt_limit=70,
            sm_clock=585,
            mem_clock=5000,
            gpu_util=0,
            enc_util=0,
            dec_util=0,
            fb_used=1032,
            fb_free=13939,
            fan_speed=None,
            pstate=0,
            ecc_sbe_vol_total=0,
            ecc_dbe_vol_total=0,
        )
    ],
}
IDENTITY_KEYS = ("uuid", "pci_bus_id", "device", "model")
DRIVERS = {
    "3090-v13.xml": "590.44.01",
    "a100-sxm4-v12.xml": "535.54.03",
    "dual_a5000-v13.xml": "590.44.01",
    "gtx-1070-ti.xml": "",
    "rtx-3080-v12.xml": "536.40",
    "rtx-4000-sff-ada-v13.xml": "595.84",
    "tesla-t4.xml": "515.105.01",
}


def test_every_capture_has_expectations() -> None:
    assert capture_names(), "no XML captures found"
    assert sorted(EXPECTED) == capture_names()


@pytest.mark.parametrize("name", capture_names())
def test_values_equal_the_capture(name: str) -> None:
    result = parse_xml(capture(name).read_bytes())
    expected = EXPECTED[name]
    assert len(result.gpus) == len(expected)
    assert result.driver_version == DRIVERS[name]
    for index, (gpu, want) in enumerate(zip(result.gpus, expected, strict=True)):
        assert gpu.identity.index == index
        for key in IDENTITY_KEYS:
            assert getattr(gpu.identity, key) == want[key], (name, index, key)
        for key, value in want.items():
            if key in IDENTITY_KEYS:
                continue
            got = getattr(gpu.readings, key)
            if value is None:
                assert got is None, f"{name} gpu {index}: {key} is N/A but read as {got}"
            else:
                assert got == pytest.approx(value), (name, index, key)


@pytest.mark.parametrize("name", capture_names())
def test_no_reading_is_invented(name: str) -> None:
    """Every numeric reading comes from an element whose text starts with that number."""
    text = capture(name).read_text()
    for gpu in parse_xml(text.encode()).gpus:
        for key, value in vars(gpu.readings).items():
            if isinstance(value, float) and key not in ("error_state", "mig_mode", "pstate"):
                number = f"{value:.2f}".rstrip("0").rstrip(".")
                assert re.search(rf">{re.escape(number)}0*\b", text), (name, key, value)


def test_a100_quirks_mig_and_attached_count() -> None:
    result = parse_xml(capture("a100-sxm4-v12.xml").read_bytes())
    assert result.attached_gpus == 4
    assert len(result.gpus) == 1
    instances = result.gpus[0].mig_instances
    assert [i.gpu_instance_id for i in instances] == [3, 4, 5, 6]
    assert all(i.fb_used == 12 and i.fb_free == 19955 for i in instances)


def test_gpu_index_is_position_not_minor_number() -> None:
    gpus = parse_xml(capture("dual_a5000-v13.xml").read_bytes()).gpus
    assert [(g.identity.index, g.identity.device) for g in gpus] == [(0, "nvidia1"), (1, "nvidia0")]


def test_throttle_reasons_old_and_new_names() -> None:
    t4 = dict(parse_xml(capture("tesla-t4.xml").read_bytes()).gpus[0].readings.throttle_reasons)
    r3090 = dict(parse_xml(capture("3090-v13.xml").read_bytes()).gpus[0].readings.throttle_reasons)
    assert len(t4) == 9 and set(t4.values()) == {0.0}
    assert r3090["SwPowerCap"] == 1.0 and r3090["GpuIdle"] == 0.0
    gtx = parse_xml(capture("gtx-1070-ti.xml").read_bytes()).gpus[0]
    assert gtx.readings.throttle_reasons == ()


def test_pci_device_id_from_capture() -> None:
    gpu = parse_xml(capture("3090-v13.xml").read_bytes()).gpus[0]
    assert gpu.identity.pci_device_id == 0x2204


def _wrap(gpus: str) -> bytes:
    return f"<nvidia_smi_log><driver_version>1.0</driver_version>{gpus}</nvidia_smi_log>".encode()


def test_duplicate_placeholder_uuids_stay_two_gpus() -> None:
    gpu = '<gpu id="{bus}"><uuid>GPU-00000000-0000-0000-0000-000000000000</uuid></gpu>'
    result = parse_xml(_wrap(gpu.format(bus="0000:01:00.0") + gpu.format(bus="0000:02:00.0")))
    ids = [(g.identity.index, g.identity.pci_bus_id) for g in result.gpus]
    assert ids == [(0, "00000000:01:00.0"), (1, "00000000:02:00.0")]


def test_error_values_mark_the_gpu_and_stay_absent() -> None:
    gpu = (
        '<gpu id="0000:01:00.0"><temperature><gpu_temp>Unknown Error</gpu_temp></temperature>'
        "<fb_memory_usage><used>[GPU requires reset]</used></fb_memory_usage>"
        "<fan_speed>Not Supported</fan_speed><performance_state>Unknown</performance_state>"
        "<pci><pci_device_id>garbage</pci_device_id></pci></gpu>"
    )
    reading = parse_xml(_wrap(gpu)).gpus[0]
    assert reading.readings.error_state == 2.0
    assert reading.readings.gpu_temp is None and reading.readings.fb_used is None
    assert reading.readings.fan_speed is None and reading.readings.pstate is None
    assert reading.identity.pci_device_id is None


@pytest.mark.parametrize(
    "data",
    [b"", b"<nvidia_smi_log><gpu>", b"not xml at all", b"<other/>", "\u00ff".encode("latin-1")],
)
def test_malformed_output_is_a_parse_error(data: bytes) -> None:
    with pytest.raises(CollectionFailure) as failure:
        parse_xml(data)
    assert failure.value.reason == "parse_error"


def _path_finder(root: ET.Element):
    parents = {child: node for node in root.iter() for child in node}

    def path_of(element: ET.Element) -> str:
        parts = [element.tag]
        while element in parents:
            element = parents[element]
            parts.append(element.tag)
        return "/".join(reversed(parts))

    return parents, path_of


@pytest.mark.parametrize("name", capture_names())
def test_removing_any_element_never_crashes(name: str) -> None:
    """Captures from the field miss sections: drop each distinct element path in turn."""
    data = capture(name).read_bytes()
    root = ET.fromstring(data)
    _, path_of = _path_finder(root)
    paths = sorted({path_of(element) for element in root.iter()} - {"nvidia_smi_log"})
    sections = [path for path in paths if path.count("/") <= 2]
    deeper = [path for path in paths if path.count("/") > 2]
    for path in sections + deeper[:: max(1, len(deeper) // 40)]:
        copy = ET.fromstring(data)
        parents, path_of = _path_finder(copy)
        for element in [e for e in copy.iter() if path_of(e) == path]:
            parents[element].remove(element)
        result = parse_xml(ET.tostring(copy))
        assert len(result.gpus) <= len(root.findall("gpu"))


@pytest.mark.parametrize(
    ("output", "reason"),
    [
        (
            "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver. "
            "Make sure that the latest NVIDIA driver is installed and running.",
            "driver_not_loaded",
        ),
        ("No devices were found", "no_gpus"),
        ("Failed to initialize NVML: Driver/library version mismatch", "driver_library_mismatch"),
        ("something else", "nvidia_smi_failed"),
    ],
)
def test_nvidia_smi_failures_name_the_reason(output: str, reason: str) -> None:
    assert failure_from_output(9, output).reason == reason


def test_missing_binary_and_missing_capture() -> None:
    with pytest.raises(CollectionFailure) as missing:
        NvidiaSmiBackend(binary="/nonexistent/nvidia-smi").read()
    assert missing.value.reason == "nvidia_smi_not_found"
    with pytest.raises(CollectionFailure) as unreadable:
        NvidiaSmiBackend(xml_file="/nonexistent/capture.xml").read()
    assert unreadable.value.reason == "capture_unreadable"
