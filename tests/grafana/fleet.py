"""A small real fleet on 127.0.0.1 for the dashboard and alert tests.

Real Prometheus (Debian package) scrapes, through the file_sd targets and prometheus.yml that
DC Overview renders, and with DC Overview's alert rules loaded:
- a real node_exporter (server `gpu-3090`);
- real dc-exporter processes replaying nvidia-smi captures from ../shared/fixtures: an RTX 3090
  with a synthetic BAR0 (hot spot and VRAM temperatures) and a second GPU on PCI that the
  driver does not report, two RTX A5000, an A100 whose driver reports 4 GPUs but shows 1, and
  a server whose driver is not loaded;
- dc-exporter's NVML backend (in this process, on a fake NVML: there is no GPU here) for an
  H200, the only source of XID errors, throttled by heat;
- a real vastai-exporter against a local server replaying the Vast.ai API (one account's key
  is refused, one machine reports an error);
- a server that is down (nothing listens on its ports).
Prometheus sends its alerts to a real Alertmanager (configured by DC Overview, with a webhook
receiver whose bearer token is a file) that posts them to a small HTTP server here.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import threading
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace

import pytest
import requests

from dc_overview.alerting.config import write_alertmanager
from dc_overview.alerting.receivers import AlertmanagerConfig
from dc_overview.exporters.gpu.backends.nvml import NvmlBackend
from dc_overview.exporters.gpu.backends.registers import HOT_SPOT_OFFSET, VRAM_OFFSET
from dc_overview.exporters.gpu.collector import CollectionLoop, Exposition
from dc_overview.exporters.web import make_server
from dc_overview.exporters.webconfig import WebConfig
from dc_overview.fsutil import atomic_write
from dc_overview.inventory.models import Exporter, Server
from dc_overview.prometheus.config import write_prometheus_config
from dc_overview.prometheus.rules import Thresholds, write_rules
from dc_overview.prometheus.targets import target_groups
from tests.conftest import settings_for_prometheus
from tests.integration import test_exporters_vastai as vast_replay
from tests.support import vastai_api
from tests.support.processes import Daemon, free_port, start_daemon, wait_for_http, wait_until
from tests.support.stack import start_node_exporter, start_prometheus
from tests.unit.exporters.fake_nvml import FakeNvml
from tests.unit.exporters.helpers import capture, exporter_binary, make_pci_device, write_bar0
from tests.unit.exporters.test_nvml_backend import h200

# Low limits, so that the temperature and disk alerts fire on the captured readings.
LIVE_THRESHOLDS = Thresholds(
    gpu_core_temp_c=30, gpu_hotspot_temp_c=80, gpu_vram_temp_c=80, disk_free_percent=99
)
WEBHOOK_TOKEN = "webhook-bearer-secret"
DRIVER_GONE = (
    "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver. "
    "Make sure that the latest NVIDIA driver is installed and running."
)


class Webhook(ThreadingHTTPServer):
    """Receives Alertmanager's notifications: (Authorization header, JSON body) each."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _WebhookHandler)
        self.received: list[tuple[str, dict]] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/alerts"


class _WebhookHandler(BaseHTTPRequestHandler):
    server: Webhook

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.server.received.append((self.headers.get("Authorization", ""), json.loads(body)))
        self.send_response(200)
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


@dataclass
class Fleet:
    prometheus_url: str
    nvml: FakeNvml
    webhook: Webhook
    servers: list[Server] = field(default_factory=list)

    def api(self, path: str, **params: str) -> dict:
        answer = requests.get(f"{self.prometheus_url}/api/v1/{path}", params=params, timeout=10)
        body = answer.json()
        assert body["status"] == "success", f"{path} {params}: {body}"
        return body["data"]

    def query(self, expr: str) -> list[dict]:
        data = self.api("query", query=expr)
        return data["result"] if data["resultType"] == "vector" else [data["result"]]

    def wait_for(self, check: Callable[[], object], timeout: float, what: str) -> object:
        return wait_until(check, timeout, what)


def _dc_exporter(stack: ExitStack, name: str, work: Path, *args: str, env=None) -> int:
    port = free_port()
    pci_root = work / name / "pci"
    pci_root.mkdir(parents=True, exist_ok=True)
    argv = [
        exporter_binary("dc-exporter"),
        "--listen", f"127.0.0.1:{port}",
        "--hostname", name,
        "--interval", "0.5",
        "--pci-root", str(pci_root),
        *args,
    ]  # fmt: skip
    daemon = start_daemon(f"dc-exporter-{name}", argv, work / "logs", env=env)
    stack.callback(daemon.stop)
    wait_for_http(f"http://127.0.0.1:{port}/metrics", process=daemon.process)
    return port


def _rtx3090(stack: ExitStack, work: Path) -> int:
    pci = work / "gpu-3090" / "pci"
    device = make_pci_device(pci, "0000:09:00.0", 0x2204)
    write_bar0(device, {VRAM_OFFSET: 0x0A60, HOT_SPOT_OFFSET: 0x5200})
    make_pci_device(pci, "0000:0a:00.0", 0x2204)  # on the bus, but the driver lost it
    xml = str(capture("3090-v13.xml"))
    return _dc_exporter(stack, "gpu-3090", work, "--nvidia-smi-xml", xml, "--registers", "on")


def _broken(stack: ExitStack, work: Path) -> int:
    script = work / "bin" / "nvidia-smi"
    script.parent.mkdir(parents=True, exist_ok=True)
    script.write_text(f"#!/bin/sh\necho '{DRIVER_GONE}'\nexit 9\n")
    script.chmod(0o755)
    args = ("--backend", "nvidia-smi", "--nvidia-smi", str(script))
    return _dc_exporter(stack, "gpu-broken", work, *args)


def _nvml_h200(stack: ExitStack, work: Path) -> tuple[int, FakeNvml]:
    """dc-exporter's collection, exposition and HTTP server, on a fake NVML, in a thread."""
    gpu = h200(
        nvmlDeviceGetSupportedClocksEventReasons=0x1 | 0x4 | 0x8 | 0x20 | 0x40,
        nvmlDeviceGetCurrentClocksEventReasons=0x4 | 0x40,  # power cap and HW thermal slowdown
    )
    nvml = FakeNvml([gpu])
    (work / "gpu-h200").mkdir()
    loop = CollectionLoop(NvmlBackend(nvml), 0.5, "gpu-h200", str(work / "gpu-h200"))
    port = free_port()
    server = make_server(f"127.0.0.1:{port}", Exposition(loop).render, WebConfig(), "dc-exporter")
    loop.start()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    stack.callback(loop.stop)
    stack.callback(server.server_close)
    stack.callback(server.shutdown)
    return port, nvml


@contextmanager
def _vastai(work: Path) -> Iterator[int]:
    machines = vastai_api.ANSWERS[101]["machines"]["machines"]
    with pytest.MonkeyPatch.context() as patch:
        patch.setitem(machines[1], "error_description", "disk /dev/nvme1n1 failing")
        server = vastai_api.FakeVast()
        server.modes[vastai_api.KEY_SPARE] = "401"
        threading.Thread(target=server.serve_forever, daemon=True).start()
        daemon: Daemon | None = None
        try:
            daemon, url = vast_replay.start_exporter(work, server)
            wait_for_http(f"{url}/metrics", process=daemon.process)
            yield int(url.rsplit(":", 1)[1])
        finally:
            if daemon is not None:
                daemon.stop()
            server.shutdown()
            server.server_close()


def _server(name: str, **ports: int) -> Server:
    exporters = [
        Exporter(kind=kind, enabled=True, installed=True, port=port) for kind, port in ports.items()
    ]
    return Server(name=name, server_ip="127.0.0.1", labels={}, exporters=exporters)


def _start_exporters(stack: ExitStack, work: Path) -> tuple[list[Server], FakeNvml]:
    node, node_port = start_node_exporter(work / "logs")
    stack.callback(node.stop)
    captures = {"gpu-a5000": "dual_a5000-v13.xml", "gpu-a100": "a100-sxm4-v12.xml"}
    ports = {
        name: _dc_exporter(stack, name, work, "--nvidia-smi-xml", str(capture(xml)))
        for name, xml in captures.items()
    }
    h200_port, nvml = _nvml_h200(stack, work)
    vast_port = stack.enter_context(_vastai(work))
    servers = [
        _server("gpu-3090", node=node_port, dc=_rtx3090(stack, work), vastai=vast_port),
        *(_server(name, dc=port) for name, port in ports.items()),
        _server("gpu-h200", dc=h200_port),
        _server("gpu-broken", dc=_broken(stack, work)),
        _server("dead-server", node=free_port(), dc=free_port()),
    ]
    return servers, nvml


def alertmanager_binary() -> str:
    """Debian's prometheus-alertmanager, 0.26 or later (receivers' secrets as files)."""
    path = shutil.which("prometheus-alertmanager")
    version = subprocess.run([path, "--version"], capture_output=True, text=True) if path else None
    found = re.search(r"version (\d+)\.(\d+)", version.stdout + version.stderr) if version else None
    if not found or (int(found.group(1)), int(found.group(2))) < (0, 26):
        pytest.fail(
            "prometheus-alertmanager >= 0.26 is needed (Debian trixie's package; bookworm's "
            "0.25 cannot read bot_token_file or url_file)"
        )
    return str(path)


def _alertmanager(stack: ExitStack, work: Path) -> tuple[str, Webhook]:
    """Alertmanager with DC Overview's config: one webhook receiver, its token in a file."""
    webhook = Webhook()
    threading.Thread(target=webhook.serve_forever, daemon=True).start()
    stack.callback(webhook.server_close)
    stack.callback(webhook.shutdown)
    token = work / "operator" / "webhook-token"
    token.parent.mkdir()
    token.write_text(WEBHOOK_TOKEN + "\n")
    token.chmod(0o600)
    receivers = {"url": webhook.url, "bearer_token_file": str(token)}
    config = AlertmanagerConfig.model_validate(
        {"webhook": receivers, "group_wait": "1s", "group_interval": "1s"}
    )
    folder = work / "alertmanager"
    path = write_alertmanager(config, folder, view=folder)
    port = free_port()
    argv = [
        alertmanager_binary(),
        f"--config.file={path}",
        f"--storage.path={folder / 'data'}",
        f"--web.listen-address=127.0.0.1:{port}",
        "--cluster.listen-address=",
    ]
    daemon = start_daemon("alertmanager", argv, work / "logs")
    stack.callback(daemon.stop)
    wait_for_http(f"http://127.0.0.1:{port}/-/ready", process=daemon.process)
    return f"127.0.0.1:{port}", webhook


@contextmanager
def running_fleet(work: Path) -> Iterator[Fleet]:
    """Start everything; stop it all on exit (whatever failed on the way)."""
    with ExitStack() as stack:
        servers, nvml = _start_exporters(stack, work)
        alertmanager, webhook = _alertmanager(stack, work)
        prom_port = free_port()
        settings = settings_for_prometheus(work, prom_port, alertmanager_target=alertmanager)
        for job, groups in target_groups(servers).items():
            atomic_write(settings.targets_dir / f"{job}.json", json.dumps(groups))
        atomic_write(settings.prometheus_token_view, "unused\n", mode=0o600)
        write_rules(settings.prometheus_dir / "rules", LIVE_THRESHOLDS)
        config = write_prometheus_config(settings)
        prometheus = start_prometheus(config, prom_port, work / "prometheus")
        stack.callback(prometheus.stop)
        yield Fleet(settings.prometheus_url, nvml, webhook, servers)


def xid_event(fleet: Fleet, code: int = 79) -> None:
    """The H200 reports an XID error (NVML event), as a GPU falling off the bus does."""
    gpu = fleet.nvml.gpus[0]
    fleet.nvml.events.append(SimpleNamespace(device=gpu, eventData=code))
