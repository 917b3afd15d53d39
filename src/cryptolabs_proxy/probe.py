"""Whether each service is running: a GET of its own health endpoint over the network.

No Docker socket: the proxy faces the internet, and the socket would hand over the host.
A name that does not resolve or a refused connection means the service is not installed
(Docker's DNS only knows running containers); anything else that is not a 2xx is unhealthy.
"""

from __future__ import annotations

import http.client
import json
import socket
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass

from cryptolabs_proxy.catalog import ServiceSpec

RUNNING = "running"
UNHEALTHY = "unhealthy"
NOT_INSTALLED = "not_installed"
MAX_BODY = 64 * 1024


@dataclass(frozen=True)
class ServiceStatus:
    status: str
    detail: str
    version: str | None = None


def split_upstream(upstream: str) -> tuple[str, int]:
    host, _, port = upstream.rpartition(":")
    return host.strip("[]"), int(port)


def probe(spec: ServiceSpec, timeout: float) -> ServiceStatus:
    """One health check with `timeout` seconds for connecting and for the answer."""
    host, port = split_upstream(spec.upstream)
    connection = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        connection.request(
            "GET", spec.health_path, headers={"Accept": "application/json", "User-Agent": "probe"}
        )
        response = connection.getresponse()
        body = response.read(MAX_BODY)
    except socket.gaierror:
        return ServiceStatus(NOT_INSTALLED, f"{host} does not resolve")
    except ConnectionRefusedError:
        return ServiceStatus(NOT_INSTALLED, f"nothing listens on {spec.upstream}")
    except TimeoutError:
        return ServiceStatus(UNHEALTHY, f"no answer from {spec.upstream} within {timeout:g}s")
    except (OSError, http.client.HTTPException) as exc:
        return ServiceStatus(UNHEALTHY, f"{spec.upstream}: {type(exc).__name__}: {exc}")
    finally:
        connection.close()
    version = _version(body)
    if 200 <= response.status < 300:
        return ServiceStatus(RUNNING, "healthy", version)
    return ServiceStatus(UNHEALTHY, f"health check answered HTTP {response.status}", version)


def _version(body: bytes) -> str | None:
    """The `version` a JSON health answer reports (dc-overview, Grafana do)."""
    try:
        data = json.loads(body)
    except ValueError:
        return None
    version = data.get("version") if isinstance(data, dict) else None
    return str(version)[:40] if isinstance(version, str | int | float) and version else None


def probe_all(specs: Sequence[ServiceSpec], timeout: float) -> dict[str, ServiceStatus]:
    """All services checked concurrently, so the slowest one bounds the wait."""
    if not specs:
        return {}
    pool = ThreadPoolExecutor(max_workers=len(specs), thread_name_prefix="probe")
    futures = {spec.name: pool.submit(probe, spec, timeout) for spec in specs}
    # Name lookups are not bound by socket timeouts: a stuck resolver must not stall the page.
    wait(futures.values(), timeout=2 * timeout + 1)
    pool.shutdown(wait=False, cancel_futures=True)
    late = ServiceStatus(UNHEALTHY, f"no answer within {2 * timeout + 1:g}s (name lookup?)")
    return {name: f.result() if f.done() else late for name, f in futures.items()}


class StatusCache:
    """Probe results reused for `ttl` seconds, so a busy landing page does not flood backends."""

    def __init__(self, check: Callable[[], dict[str, ServiceStatus]], ttl: float = 2.0) -> None:
        self._check = check
        self._ttl = ttl
        self._lock = threading.Lock()
        self._at = 0.0
        self._value: dict[str, ServiceStatus] = {}

    def get(self) -> dict[str, ServiceStatus]:
        with self._lock:
            if time.monotonic() - self._at >= self._ttl:
                self._value = self._check()
                self._at = time.monotonic()
            return self._value
