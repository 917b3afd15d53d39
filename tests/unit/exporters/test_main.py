"""The dc-exporter command line: backend choice, --once, refusals."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from dc_overview.exporters.gpu import main as gpu_main
from dc_overview.exporters.gpu.backends.nvidia_smi import NvidiaSmiBackend
from dc_overview.exporters.gpu.backends.nvml import NvmlBackend
from tests.unit.exporters.helpers import assert_promtool_passes, capture, samples, value_of


def args(*argv: str):
    return gpu_main.build_parser().parse_args(list(argv))


def test_backend_choice(monkeypatch: pytest.MonkeyPatch) -> None:
    assert isinstance(gpu_main.choose_backend(args()), NvmlBackend)  # pynvml is installed
    assert isinstance(gpu_main.choose_backend(args("--backend", "nvidia-smi")), NvidiaSmiBackend)
    replay = gpu_main.choose_backend(args("--backend", "nvml", "--nvidia-smi-xml", "x.xml"))
    assert isinstance(replay, NvidiaSmiBackend)
    monkeypatch.setitem(sys.modules, "pynvml", None)  # a worker without nvidia-ml-py
    assert isinstance(gpu_main.choose_backend(args()), NvidiaSmiBackend)


def test_auto_falls_back_to_nvidia_smi_only_when_nvml_cannot_load(tmp_path: Path) -> None:
    """No libnvidia-ml here (the real pynvml fails to initialise): with an nvidia-smi present
    auto takes it; with none, NVML stays so that its error becomes the exported reason."""
    nvidia_smi = tmp_path / "nvidia-smi"
    nvidia_smi.write_text("#!/bin/sh\nexit 0\n")
    nvidia_smi.chmod(0o755)
    chosen = gpu_main.choose_backend(args("--nvidia-smi", str(nvidia_smi)))
    assert isinstance(chosen, NvidiaSmiBackend)
    absent = gpu_main.choose_backend(args("--nvidia-smi", str(tmp_path / "none")))
    assert isinstance(absent, NvmlBackend)


def test_register_reads_follow_the_option(monkeypatch: pytest.MonkeyPatch) -> None:
    assert gpu_main.register_reader(args("--registers", "off")) is None
    assert gpu_main.register_reader(args("--registers", "on")) is not None
    monkeypatch.setattr(gpu_main.os, "geteuid", lambda: 1000)
    assert gpu_main.register_reader(args()) is None


def test_once_prints_the_exposition(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    status = gpu_main.main(
        ["--once", "--nvidia-smi-xml", str(capture("tesla-t4.xml")), "--pci-root", str(tmp_path)]
    )
    assert status == 0
    text = capsys.readouterr().out
    assert value_of(samples(text), "DCGM_FI_DEV_POWER_USAGE", gpu="0") == pytest.approx(26.78)
    assert_promtool_passes(text)


@pytest.mark.parametrize(
    ("argv", "status"),
    [
        (["--interval", "0"], 2),
        (["--web-config", "/nonexistent/web.yml"], 2),
        (["--listen", "nowhere"], 1),
    ],
)
def test_refusals(argv: list[str], status: int, tmp_path: Path) -> None:
    common = ["--nvidia-smi-xml", str(capture("tesla-t4.xml")), "--pci-root", str(tmp_path)]
    assert gpu_main.main([*common, *argv]) == status
