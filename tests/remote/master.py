"""The master's side of a worker lab: the inventory, one SSH key, and Prometheus scraping."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from dc_overview.bootstrap import prepare
from dc_overview.services import Services, build_services
from tests.conftest import settings_for_prometheus
from tests.remote.lab import Lab, Worker, worker_image
from tests.support.processes import free_port
from tests.support.stack import start_prometheus


@dataclass
class Master:
    lab: Lab
    services: Services
    public_key: str

    @property
    def prometheus_url(self) -> str:
        return self.services.settings.prometheus_url

    def worker(self, name: str) -> Worker:
        return next(w for w in self.lab.workers if w.name == name)

    def node_targets(self) -> set[str]:
        groups = json.loads((self.services.settings.targets_dir / "node.json").read_text())
        return {g["labels"]["instance"] for g in groups}


@contextmanager
def running_master(root: Path, workers: dict[str, tuple[str, ...]]) -> Iterator[Master]:
    """Workers (name -> extra `docker run` arguments) up, reachable with the lab key and in the
    inventory; a real Prometheus on the rendered config. Everything is gone on exit."""
    image = worker_image()
    prom_port = free_port()
    settings = settings_for_prometheus(root, prom_port)
    services = build_services(settings)
    prepare(services)
    lab = Lab()
    prometheus = None
    try:
        lab.create_network()
        key = services.keys.generate({"name": "lab"})
        for name, docker_args in workers.items():
            lab.start(name, image, key.public_key, docker_args=docker_args)
        for worker in lab.workers:
            lab.wait_ready(worker)
            services.fleet.create(
                {"name": worker.name, "server_ip": worker.ip, "ssh_key_id": key.id}
            )
        prometheus = start_prometheus(
            settings.prometheus_dir / "prometheus.yml", prom_port, root / "prom"
        )
        yield Master(lab, services, key.public_key)
    finally:
        if prometheus:
            prometheus.stop()
        lab.destroy()
        services.close()
