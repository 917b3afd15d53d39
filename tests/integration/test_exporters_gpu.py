"""The real dc-exporter process on 127.0.0.1, scraped over HTTP(S).

There is no GPU here: nvidia-smi is a script on PATH that prints a real capture (or fails,
or hangs, as a broken driver does). Everything else is real: the console script, the
collection thread, the HTTP server, TLS, promtool.
"""

from __future__ import annotations

import contextlib
import os
import signal
import textwrap
import time
from pathlib import Path

import bcrypt
import pytest
import requests

from dc_overview.exporters.gpu.backends.nvidia_smi import parse_xml
from dc_overview.exporters.gpu.backends.registers import HOT_SPOT_OFFSET, VRAM_OFFSET
from tests.support.processes import Daemon, free_port, start_daemon
from tests.unit.exporters.helpers import (
    assert_promtool_passes,
    capture,
    capture_names,
    exporter_binary,
    make_pci_device,
    samples,
    self_signed,
    value_of,
    wait_until,
    write_bar0,
)

pytestmark = pytest.mark.integration


class Exporter:
    """A running dc-exporter and its address."""

    def __init__(self, daemon: Daemon, url: str) -> None:
        self.daemon = daemon
        self.url = url

    def scrape(self, **kwargs) -> dict:
        response = requests.get(f"{self.url}/metrics", timeout=5, **kwargs)
        assert response.status_code == 200, response.text
        return samples(response.text)

    def scrape_when(self, check, timeout: float = 20.0) -> dict:
        def ready() -> dict | None:
            if self.daemon.process.poll() is not None:
                pytest.fail(f"dc-exporter exited: {self.daemon.log()}")
            try:
                parsed = self.scrape()
            except requests.RequestException:
                return None
            return parsed if check(parsed) else None

        return wait_until(ready, timeout)


def start(tmp_path: Path, *args: str, env: dict | None = None, scheme: str = "http") -> Exporter:
    port = free_port()
    pci_root = tmp_path / "pci"
    pci_root.mkdir(exist_ok=True)
    argv = [
        exporter_binary("dc-exporter"),
        "--listen",
        f"127.0.0.1:{port}",
        "--pci-root",
        str(pci_root),
        "--hostname",
        "worker-1",
        *args,
    ]
    daemon = start_daemon(f"dc-exporter-{port}", argv, tmp_path / "logs", env=env)
    return Exporter(daemon, f"{scheme}://127.0.0.1:{port}")


@pytest.fixture
def exporters():
    started: list[Exporter] = []
    yield started
    for exporter in started:
        exporter.daemon.stop()


def fake_nvidia_smi(tmp_path: Path, body: str) -> dict:
    """A directory with an `nvidia-smi` script first on PATH; returns the env to use."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    script = bin_dir / "nvidia-smi"
    script.write_text("#!/bin/sh\n" + textwrap.dedent(body))
    script.chmod(0o755)
    return {"PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}


def up(parsed: dict) -> bool:
    return value_of(parsed, "dc_exporter_up") == 1


@pytest.mark.parametrize("name", capture_names())
def test_every_capture_over_http(name: str, tmp_path: Path, exporters: list) -> None:
    env = fake_nvidia_smi(
        tmp_path,
        f"""\
        [ "$1" = "-q" ] && [ "$2" = "-x" ] || {{ echo "unexpected: $*" >&2; exit 2; }}
        exec cat '{capture(name)}'
        """,
    )
    exporter = start(tmp_path, "--backend", "nvidia-smi", "--interval", "0.5", env=env)
    exporters.append(exporter)
    parsed = exporter.scrape_when(up)
    text = requests.get(f"{exporter.url}/metrics", timeout=5).text
    assert_promtool_passes(text)
    expected = parse_xml(capture(name).read_bytes())
    for gpu in expected.gpus:
        labels = {"gpu": str(gpu.identity.index), "pci_bus_id": gpu.identity.pci_bus_id}
        assert value_of(parsed, "DCGM_FI_DEV_GPU_TEMP", **labels) == gpu.readings.gpu_temp
        whole_gpu = [
            value
            for found, value in parsed["DCGM_FI_DEV_FB_USED"]
            if found["gpu"] == labels["gpu"] and "GPU_I_ID" not in found
        ]
        assert whole_gpu == [gpu.readings.fb_used]
        power = value_of(parsed, "DCGM_FI_DEV_POWER_USAGE", **labels)
        assert power == gpu.readings.power_usage  # None (absent) where the capture has N/A
    assert value_of(parsed, "dc_exporter_gpus", source="readable") == len(expected.gpus)
    assert value_of(parsed, "dc_exporter_build_info", backend="nvidia-smi") == 1


def test_replay_option_formats_and_paths(tmp_path: Path, exporters: list) -> None:
    exporter = start(tmp_path, "--nvidia-smi-xml", str(capture("dual_a5000-v13.xml")))
    exporters.append(exporter)
    exporter.scrape_when(up)
    response = requests.get(
        f"{exporter.url}/metrics",
        headers={"Accept": "application/openmetrics-text; version=1.0.0"},
        timeout=5,
    )
    assert response.headers["Content-Type"].startswith("application/openmetrics-text")
    assert response.text.endswith("# EOF\n") and response.text.count("# EOF") == 1
    assert "Metrics" in requests.get(exporter.url + "/", timeout=5).text
    assert requests.get(exporter.url + "/nothing", timeout=5).status_code == 404


def _no_gpu_env(tmp_path: Path, case: str) -> tuple[list[str], dict | None, set[str]]:
    if case == "nvml":
        return [], None, {"nvml_library_not_found", "driver_not_loaded", "no_gpus"}
    if case == "no-nvidia-smi":
        missing = str(tmp_path / "absent" / "nvidia-smi")
        return ["--backend", "nvidia-smi", "--nvidia-smi", missing], None, {"nvidia_smi_not_found"}
    env = fake_nvidia_smi(
        tmp_path,
        """\
        echo "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver."
        exit 9
        """,
    )
    return ["--backend", "nvidia-smi"], env, {"driver_not_loaded"}


@pytest.mark.parametrize("case", ["nvml", "no-nvidia-smi", "driver-not-loaded"])
def test_worker_without_gpus_keeps_running(case: str, tmp_path: Path, exporters: list) -> None:
    args, env, reasons = _no_gpu_env(tmp_path, case)
    exporter = start(tmp_path, "--interval", "0.2", *args, env=env)
    exporters.append(exporter)
    parsed = exporter.scrape_when(
        lambda p: (value_of(p, "dc_exporter_collections_total") or 0) >= 3
    )
    assert exporter.daemon.process.poll() is None, "the exporter must not exit"
    assert value_of(parsed, "dc_exporter_build_info") == 1
    readable = value_of(parsed, "dc_exporter_gpus", source="readable")
    if case != "nvml" or readable == 0:  # NVML finds no GPU on a machine without one
        assert readable == 0 and value_of(parsed, "dc_exporter_gpus", source="driver") == 0
        errors = {labels["reason"] for labels, _ in parsed["dc_exporter_collection_error"]}
        assert errors and errors <= reasons, errors
        assert value_of(parsed, "dc_exporter_up") == 0
    exporter.daemon.process.send_signal(signal.SIGTERM)
    assert exporter.daemon.process.wait(10) == 0


def test_scrapes_stay_fast_while_nvidia_smi_hangs(tmp_path: Path, exporters: list) -> None:
    pid_file, calls = tmp_path / "hung.pid", tmp_path / "calls"
    env = fake_nvidia_smi(
        tmp_path,
        f"""\
        if [ -e '{calls}' ]; then echo $$ > '{pid_file}'; exec sleep 30; fi
        touch '{calls}'
        exec cat '{capture("dual_a5000-v13.xml")}'
        """,
    )
    exporter = start(
        tmp_path, "--backend", "nvidia-smi", "--interval", "0.2", "--timeout", "25", env=env
    )
    exporters.append(exporter)
    try:
        exporter.scrape_when(up)
        wait_until(pid_file.exists)
        time.sleep(0.3)
        timings = []
        with requests.Session() as session:
            for _ in range(20):
                started = time.monotonic()
                response = session.get(f"{exporter.url}/metrics", timeout=5)
                timings.append(time.monotonic() - started)
                assert response.status_code == 200
        parsed = samples(response.text)
        assert max(timings) < 0.5, timings
        assert value_of(parsed, "DCGM_FI_DEV_GPU_TEMP", gpu="0") == 13  # last good snapshot
        assert value_of(parsed, "dc_exporter_snapshot_age_seconds") > 0.2
    finally:
        exporter.daemon.stop()
        if pid_file.exists():
            _end(int(pid_file.read_text()))


def _end(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)


def test_register_temperatures_from_a_synthetic_bar0(tmp_path: Path, exporters: list) -> None:
    device = make_pci_device(tmp_path / "pci", "0000:09:00.0", 0x2204)
    write_bar0(device, {VRAM_OFFSET: 0x0A60, HOT_SPOT_OFFSET: 0x5200})
    exporter = start(
        tmp_path, "--nvidia-smi-xml", str(capture("3090-v13.xml")), "--registers", "on"
    )
    exporters.append(exporter)
    parsed = exporter.scrape_when(up)
    assert value_of(parsed, "DCGM_FI_DEV_VRAM_TEMP", gpu="0") == 83
    assert value_of(parsed, "DCGM_FI_DEV_HOT_SPOT_TEMP", gpu="0") == 82
    assert value_of(parsed, "dc_exporter_gpus", source="pci") == 1
    assert value_of(parsed, "dc_exporter_gpus_missing") == 0


def test_tls_from_web_config(tmp_path: Path, exporters: list) -> None:
    cert, _ = self_signed(tmp_path)
    config = tmp_path / "web.yml"
    config.write_text("tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n")
    exporter = start(
        tmp_path,
        "--nvidia-smi-xml",
        str(capture("tesla-t4.xml")),
        "--web.config.file",
        str(config),
        scheme="https",
    )
    exporters.append(exporter)
    parsed = wait_until(lambda: _try(lambda: exporter.scrape(verify=str(cert))))
    assert value_of(parsed, "DCGM_FI_DEV_GPU_TEMP") == 40
    plain = exporter.url.replace("https://", "http://")
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{plain}/metrics", timeout=5)


def _try(call):
    try:
        return call()
    except requests.RequestException:
        return None


def test_basic_auth_from_web_config(tmp_path: Path, exporters: list) -> None:
    config = tmp_path / "web.yml"
    hashed = bcrypt.hashpw(b"s3cret", bcrypt.gensalt(rounds=4)).decode()
    config.write_text(f"basic_auth_users:\n  prometheus: '{hashed}'\n")
    exporter = start(
        tmp_path,
        "--nvidia-smi-xml",
        str(capture("tesla-t4.xml")),
        "--web-config",
        str(config),
    )
    exporters.append(exporter)
    parsed = wait_until(lambda: _try(lambda: exporter.scrape(auth=("prometheus", "s3cret"))))
    assert value_of(parsed, "DCGM_FI_DEV_GPU_TEMP") == 40
    for auth in (None, ("prometheus", "wrong"), ("prometheus", ""), ("other", "s3cret")):
        response = requests.get(f"{exporter.url}/metrics", auth=auth, timeout=5)
        assert response.status_code == 401, auth
        assert response.headers["WWW-Authenticate"] == "Basic"
    # still accepted after the refusals (and now from the cache of verified pairs)
    assert exporter.scrape(auth=("prometheus", "s3cret"))


def test_basic_auth_without_bcrypt_refuses_to_start(tmp_path: Path) -> None:
    modules = tmp_path / "modules"
    modules.mkdir()
    (modules / "bcrypt.py").write_text("raise ImportError('bcrypt is not installed')\n")
    config = tmp_path / "web.yml"
    config.write_text("basic_auth_users:\n  prometheus: '$2b$10$abcdefghijklmnopqrstuv'\n")
    exporter = start(
        tmp_path,
        "--nvidia-smi-xml",
        str(capture("tesla-t4.xml")),
        "--web-config",
        str(config),
        env={"PYTHONPATH": str(modules)},
    )
    assert exporter.daemon.process.wait(20) == 2
    assert "needs the Python module 'bcrypt'" in exporter.daemon.log()
