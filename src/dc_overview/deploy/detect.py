"""What already runs on this Docker engine: the shared network, a proxy, IPMI Monitor."""

from __future__ import annotations

import json
from dataclasses import dataclass

from dc_overview.deploy.engine import DockerError, docker

PROJECT_LABEL = "com.docker.compose.project"


@dataclass
class Detection:
    network_exists: bool = False
    network_project: str | None = None
    network_subnet: str | None = None
    proxy_container: bool = False
    proxy_project: str | None = None
    ipmi_monitor: bool = False
    ipmi_monitor_running: bool = False

    def network_is_foreign(self, project: str) -> bool:
        """The network exists and another stack (e.g. IPMI Monitor's) owns it: reuse it."""
        return self.network_exists and self.network_project != project

    def proxy_is_foreign(self, project: str) -> bool:
        return self.proxy_container and self.proxy_project != project


def _inspect(kind: str, name: str) -> dict | None:
    try:
        return json.loads(docker([kind, "inspect", name]))[0]
    except (DockerError, ValueError, IndexError):
        return None


def _labels(info: dict, *path: str) -> dict:
    for key in path:
        info = info.get(key) or {}
    return info


def detect(network: str) -> Detection:
    found = Detection()
    net = _inspect("network", network)
    if net:
        found.network_exists = True
        found.network_project = _labels(net, "Labels").get(PROJECT_LABEL)
        configs = _labels(net, "IPAM").get("Config") or [{}]
        found.network_subnet = configs[0].get("Subnet")
    proxy = _inspect("container", "cryptolabs-proxy")
    if proxy:
        found.proxy_container = True
        found.proxy_project = _labels(proxy, "Config", "Labels").get(PROJECT_LABEL)
    ipmi = _inspect("container", "ipmi-monitor")
    if ipmi:
        found.ipmi_monitor = True
        found.ipmi_monitor_running = bool(_labels(ipmi, "State").get("Running"))
    return found
