"""dc-exporter scrape latency and memory with 8 GPUs, against parsing nvidia-smi per scrape.

Usage (from the repository root, with the project installed in .venv):

    .venv/bin/python -m benchmarks.dc_exporter_scrape [--scrapes 2000]

An 8-GPU `nvidia-smi -q -x` document is generated at run time from the shared capture
../shared/fixtures/nvidia-smi/dual_a5000-v13.xml (4 copies of its two RTX A5000s with distinct
bus ids and UUIDs). A stand-in `nvidia-smi` script prints it. Two servers are measured, each a
separate process on 127.0.0.1 scraped over one keep-alive HTTP connection:

* dc-exporter (the console script, nvidia-smi backend): collects every 5 s in the background,
  a scrape renders the last snapshot;
* per-scrape parsing, what nvidia-smi-based exporters do: every scrape runs the stand-in
  nvidia-smi, parses the XML and renders it (same parser and renderer as dc-exporter).

The stand-in prints a file, so the second figure is a lower bound: a real nvidia-smi also
initialises NVML on every call. The script prints figures and ratios to the goals
(p99 < 5 ms, RSS < 40 MB); it never asserts.
"""

from __future__ import annotations

import argparse
import http.client
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path

from tests.support.fixtures import shared_fixtures

REPO = Path(__file__).resolve().parents[1]
CAPTURE = shared_fixtures() / "nvidia-smi" / "dual_a5000-v13.xml"
GOAL_P99_MS = 5.0
GOAL_RSS_MB = 40.0
GPUS = 8


def eight_gpu_xml(source: Path) -> bytes:
    """The capture's GPUs repeated to 8, each with its own bus id, UUID and minor number."""
    root = ET.fromstring(source.read_bytes())
    originals = root.findall("gpu")
    for gpu in originals:
        root.remove(gpu)
    for index in range(GPUS):
        gpu = ET.fromstring(ET.tostring(originals[index % len(originals)]))
        bus = f"00000000:{0x11 + index * 0x10:02X}:00.0"
        gpu.set("id", bus)
        gpu.find("pci/pci_bus_id").text = bus
        gpu.find("uuid").text = f"GPU-00000000-0000-0000-0000-{index:012d}"
        gpu.find("minor_number").text = str(index)
        root.append(gpu)
    root.find("attached_gpus").text = str(GPUS)
    header = b'<?xml version="1.0" ?>\n<!DOCTYPE nvidia_smi_log SYSTEM "nvsmi_device_v13.dtd">\n'
    return header + ET.tostring(root)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def rss_mb(pid: int) -> tuple[float, float]:
    """(current RSS, peak RSS) of a process in MB, from /proc."""
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            values[key] = int(rest.split()[0]) / 1024.0
    return values["VmRSS"], values["VmHWM"]


def wait_ready(port: int, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"server exited with {process.returncode}")
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            connection.request("GET", "/metrics")
            body = connection.getresponse().read()
            connection.close()
            if b"DCGM_FI_DEV_GPU_TEMP" in body:
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise SystemExit("server did not become ready")


def measure(port: int, scrapes: int) -> tuple[list[float], int]:
    """Latencies (ms) of `scrapes` GETs on one keep-alive connection, after a warm-up."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    size = 0
    for _ in range(20):
        connection.request("GET", "/metrics")
        size = len(connection.getresponse().read())
    latencies = []
    for _ in range(scrapes):
        started = time.perf_counter()
        connection.request("GET", "/metrics")
        response = connection.getresponse()
        response.read()
        latencies.append((time.perf_counter() - started) * 1000.0)
        if response.status != 200:
            raise SystemExit(f"scrape answered {response.status}")
    connection.close()
    return latencies, size


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def run_case(label: str, argv: list[str], port: int, env: dict, scrapes: int) -> dict:
    process = subprocess.Popen(
        argv, env=env, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        wait_ready(port, process)
        latencies, size = measure(port, scrapes)
        rss, peak = rss_mb(process.pid)
    finally:
        process.terminate()
        process.wait(10)
    return {
        "label": label,
        "p50": percentile(latencies, 0.50),
        "p99": percentile(latencies, 0.99),
        "max": max(latencies),
        "mean": statistics.fmean(latencies),
        "rss": rss,
        "peak": peak,
        "bytes": size,
    }


def serve_per_scrape(port: int, nvidia_smi: str) -> None:
    """The comparison server: run nvidia-smi, parse and render on every scrape."""
    from prometheus_client import generate_latest
    from prometheus_client.exposition import choose_encoder

    from dc_overview.exporters.gpu.backends.nvidia_smi import NvidiaSmiBackend
    from dc_overview.exporters.gpu.collector import CollectionLoop, Exposition
    from dc_overview.exporters.web import make_server, serve_until_signalled
    from dc_overview.exporters.webconfig import WebConfig

    loop = CollectionLoop(NvidiaSmiBackend(binary=nvidia_smi), pci_root="/nonexistent")
    exposition = Exposition(loop)

    def render(accept: str) -> tuple[bytes, str]:
        loop.collect_once()
        _, content_type = choose_encoder(accept)
        return generate_latest(exposition.registry), content_type

    server = make_server(f"127.0.0.1:{port}", render, WebConfig(), "per-scrape")
    serve_until_signalled(server)


def report(results: list[dict], scrapes: int) -> None:
    print(f"\ndc-exporter scrape benchmark: {GPUS} GPUs, {scrapes} scrapes per server")
    print(f"{'server':<44}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}{'RSS MB':>9}{'peak MB':>9}")
    for r in results:
        print(
            f"{r['label']:<44}{r['p50']:>9.3f}{r['p99']:>9.3f}{r['max']:>9.2f}"
            f"{r['rss']:>9.1f}{r['peak']:>9.1f}"
        )
    ours, theirs = results
    print(f"\nexposition size: {ours['bytes']} bytes")
    print(f"dc-exporter p99 / goal ({GOAL_P99_MS:g} ms): {ours['p99'] / GOAL_P99_MS:.3f}")
    print(f"dc-exporter RSS / goal ({GOAL_RSS_MB:g} MB): {ours['rss'] / GOAL_RSS_MB:.3f}")
    print(f"per-scrape parsing p50 / dc-exporter p50: {theirs['p50'] / ours['p50']:.1f}x")
    print(f"per-scrape parsing p99 / dc-exporter p99: {theirs['p99'] / ours['p99']:.1f}x")
    print(
        "(the per-scrape figure is a lower bound: a real nvidia-smi also initialises NVML "
        "on every call)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scrapes", type=int, default=2000)
    parser.add_argument("--serve-per-scrape", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--nvidia-smi", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_per_scrape:
        serve_per_scrape(args.serve_per_scrape, args.nvidia_smi)
        return
    if not CAPTURE.is_file():
        raise SystemExit(f"capture {CAPTURE} is missing (../shared/fixtures)")
    with tempfile.TemporaryDirectory(prefix="dc-exporter-bench-") as tmp:
        xml_path = Path(tmp) / "eight-gpus.xml"
        xml_path.write_bytes(eight_gpu_xml(CAPTURE))
        nvidia_smi = Path(tmp) / "nvidia-smi"
        nvidia_smi.write_text(f"#!/bin/sh\nexec cat '{xml_path}'\n")
        nvidia_smi.chmod(0o755)
        env = {**os.environ, "PATH": f"{tmp}{os.pathsep}{os.environ['PATH']}"}
        exporter = str(Path(sys.executable).parent / "dc-exporter")
        port = free_port()
        ours = run_case(
            "dc-exporter (snapshot, nvidia-smi backend)",
            [
                exporter,
                "--backend",
                "nvidia-smi",
                "--listen",
                f"127.0.0.1:{port}",
                "--pci-root",
                tmp,
                "--registers",
                "off",
                "--log-level",
                "error",
            ],
            port,
            env,
            args.scrapes,
        )
        port = free_port()
        theirs = run_case(
            "parse nvidia-smi -q -x on every scrape",
            [
                sys.executable,
                "-m",
                "benchmarks.dc_exporter_scrape",
                "--serve-per-scrape",
                str(port),
                "--nvidia-smi",
                str(nvidia_smi),
            ],
            port,
            env,
            args.scrapes,
        )
    report([ours, theirs], args.scrapes)


if __name__ == "__main__":
    main()
