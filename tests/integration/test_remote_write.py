"""Scale-out: Prometheus, configured by us, remote-writes into a real VictoriaMetrics with
basic auth whose password comes from a file (never the command line or the config text)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import requests

from dc_overview.prometheus.config import write_prometheus_config
from tests.conftest import make_settings
from tests.support.processes import free_port, require_binary, start_daemon, wait_for_http
from tests.support.stack import start_prometheus

pytestmark = pytest.mark.integration
PASSWORD = "remote-write-secret-42"


def test_samples_arrive_in_victoria_metrics(tmp_path: Path) -> None:
    vm_port, prom_port = free_port(), free_port()
    password_file = tmp_path / "rw-password"
    password_file.write_text(PASSWORD + "\n")
    password_file.chmod(0o600)
    settings = make_settings(
        tmp_path,
        prometheus_self_target=f"127.0.0.1:{prom_port}",
        scrape_interval="1s",
        remote_write_url=f"http://127.0.0.1:{vm_port}/api/v1/write",
        remote_write_username="dc",
        remote_write_password_file=password_file,
    )
    settings.secrets_dir.mkdir(parents=True)
    settings.secret_file("metrics_token").write_text("unused\n")
    config = write_prometheus_config(settings)
    assert PASSWORD not in config.read_text()

    vm = start_daemon(
        "victoria-metrics",
        [require_binary("victoria-metrics"), "-envflag.enable",
         f"-httpListenAddr=127.0.0.1:{vm_port}", f"-storageDataPath={tmp_path / 'vm'}"],
        tmp_path / "logs",
        env={"httpAuth_username": "dc", "httpAuth_password": PASSWORD},
    )  # fmt: skip
    prometheus = None
    try:
        wait_for_http(f"http://127.0.0.1:{vm_port}/health", process=vm.process)
        prometheus = start_prometheus(config, prom_port, tmp_path / "prom")
        query = f"http://127.0.0.1:{vm_port}/api/v1/query"
        assert requests.get(query, params={"query": "up"}, timeout=5).status_code == 401
        deadline, result = time.monotonic() + 60, []
        while time.monotonic() < deadline and not result:
            answer = requests.get(
                query, params={"query": 'up{job="prometheus"}'}, auth=("dc", PASSWORD), timeout=5
            ).json()
            result = answer["data"]["result"]
            time.sleep(1)
        assert result, f"no samples reached VictoriaMetrics:\n{prometheus.log()}"
        assert result[0]["metric"]["site"] == "DC Overview"
    finally:
        if prometheus:
            prometheus.stop()
        vm.stop()
