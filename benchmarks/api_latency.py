"""Latency of `GET /api/servers` and `GET /` (the dashboard) with a large fleet.

Starts a real Prometheus and `dc-overview serve` (gunicorn, the CLI's default workers and
threads) on free loopback ports with temp config and data dirs. The fleet is inserted
in-process through `FleetService.create` (the service the API calls) on those dirs before the
server starts; the file_sd target files are written once at the end instead of after every
insert. Every server has node_exporter enabled and installed on a closed loopback port, so
Prometheus scrapes them all (as "down") and the dashboard's `up` query returns one series per
server. Prints figures only: it asserts no wall-clock limit.

    .venv/bin/python -m benchmarks.api_latency [--servers 1000] [--requests 500] [--concurrency 4]
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import requests
from tests.support.processes import Daemon, free_port
from tests.support.stack import start_app, start_prometheus

from benchmarks.common import (
    admin_token,
    bench_settings,
    login_session,
    percentiles,
    port_of,
    prepared_services,
    run_with_daemons,
    token_session,
)
from dc_overview.cli.serve import serve
from dc_overview.prometheus.client import PrometheusClient
from dc_overview.services import Services

API_P99_GOAL_MS = 50.0
WARM_UP = 20


@dataclass
class Run:
    latencies: list[float]  # seconds, one per request
    wall: float  # seconds for the whole run
    body_bytes: int


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--servers", type=int, default=1000, help="fleet size (default 1000)")
    parser.add_argument(
        "--requests", type=int, default=500, help="requests per run and endpoint (default 500)"
    )
    parser.add_argument(
        "--concurrency", type=int, default=4, help="clients in the concurrent run (default 4)"
    )
    args = parser.parse_args(argv)
    if args.servers < 1 or args.requests < 1 or args.concurrency < 1:
        parser.error("--servers, --requests and --concurrency must be at least 1")
    return args


def seed_fleet(services: Services, count: int, exporter_port: int) -> float:
    """Insert `count` servers through the fleet service; returns the seconds it took."""
    services.fleet.listeners.clear()  # one publish at the end, not one per insert
    start = time.perf_counter()
    for i in range(count):
        services.fleet.create(
            {
                "name": f"gpu-{i:05d}",
                "server_ip": f"127.10.{i // 250}.{i % 250 + 1}",
                "ssh_port": 22,
                "has_gpu": True,
                "labels": {"rack": f"r{i // 40:03d}", "site": "bench"},
                "exporters": {"node": {"enabled": True, "installed": True, "port": exporter_port}},
            }
        )
    services.targets.publish()
    return time.perf_counter() - start


def wait_for_scrapes(prometheus_url: str, count: int, timeout: float = 90.0) -> float:
    """Wait until Prometheus has an `up` sample for every node target; returns the seconds."""
    client = PrometheusClient(prometheus_url)
    start = time.monotonic()
    seen = 0
    while time.monotonic() - start < timeout:
        result = client.query('count(up{job="node"})')
        seen = int(result[0]["value"]) if result else 0
        if seen >= count:
            return time.monotonic() - start
        time.sleep(0.5)
    raise TimeoutError(f"Prometheus has up for {seen} of {count} node targets after {timeout}s")


def fetch(session: requests.Session, url: str) -> tuple[float, int]:
    start = time.perf_counter()
    response = session.get(url, timeout=60, allow_redirects=False)
    elapsed = time.perf_counter() - start
    if response.status_code != 200:
        raise RuntimeError(f"GET {url}: HTTP {response.status_code}: {response.text[:300]}")
    return elapsed, len(response.content)


def clone(session: requests.Session) -> requests.Session:
    """A new session (own connection pool) with the same credentials."""
    copy = requests.Session()
    copy.headers.update(session.headers)
    copy.cookies.update(session.cookies)
    return copy


def sequential(session: requests.Session, url: str, count: int) -> Run:
    latencies: list[float] = []
    size = 0
    start = time.perf_counter()
    for _ in range(count):
        elapsed, size = fetch(session, url)
        latencies.append(elapsed)
    return Run(latencies, time.perf_counter() - start, size)


def concurrent(session: requests.Session, url: str, count: int, clients: int) -> Run:
    """`count` requests shared by `clients` threads, each with its own session."""
    shares = [count // clients + (1 if i < count % clients else 0) for i in range(clients)]
    sessions = [clone(session) for _ in shares]
    with ThreadPoolExecutor(max_workers=clients) as pool:
        start = time.perf_counter()
        runs = list(pool.map(sequential, sessions, [url] * clients, shares))
        wall = time.perf_counter() - start
    latencies = [value for run in runs for value in run.latencies]
    return Run(latencies, wall, max(run.body_bytes for run in runs))


def report(label: str, run: Run, goal_ms: float | None) -> None:
    stats = {key: value * 1000 for key, value in percentiles(run.latencies).items()}
    figures = "  ".join(f"{key}={value:7.1f}" for key, value in stats.items())
    rate = len(run.latencies) / run.wall
    print(f"  {label:<22} n={len(run.latencies):<5} {figures} ms  {rate:7.1f} req/s")
    if goal_ms is not None:
        ratio = stats["p99"] / goal_ms
        print(f"  {'':<22} p99/goal = {stats['p99']:.1f}/{goal_ms:.0f} ms = {ratio:.2f}")


def measure(
    name: str, session: requests.Session, url: str, args: argparse.Namespace, goal_ms: float | None
) -> None:
    """Warm up, then one sequential and one concurrent run of `args.requests` requests each."""
    warm_up = min(WARM_UP, args.requests)
    for _ in range(warm_up):
        fetch(session, url)
    first = sequential(session, url, args.requests)
    print(f"{name}  (response {first.body_bytes / 1024:.0f} KiB, {warm_up} warm-up requests)")
    report("sequential, 1 client", first, goal_ms)
    second = concurrent(session, url, args.requests, args.concurrency)
    report(f"concurrent, {args.concurrency} clients", second, goal_ms)


def after_each_change(session: requests.Session, base: str, count: int) -> Run:
    """The uncached path: every read follows a PATCH, so the listing is rebuilt each time."""
    first = session.get(f"{base}/api/servers", timeout=60).json()[0]
    latencies: list[float] = []
    size, start = 0, time.perf_counter()
    for index in range(count):
        patch = {"labels": {**first["labels"], "bench": str(index)}}
        session.patch(
            f"{base}/api/servers/{first['id']}", json=patch, timeout=60
        ).raise_for_status()
        elapsed, size = fetch(session, f"{base}/api/servers")
        latencies.append(elapsed)
    return Run(latencies, time.perf_counter() - start, size)


def print_header(args: argparse.Namespace, seed_seconds: float, scrape_wait: float) -> None:
    defaults = {param.name: param.default for param in serve.params}
    print(f"machine: {os.cpu_count()} CPUs, Python {platform.python_version()}")
    print(
        f"dc-overview serve: gunicorn gthread, {defaults['workers']} worker(s) x "
        f"{defaults['threads']} threads (CLI defaults); real Prometheus"
    )
    print(
        f"fleet: {args.servers} servers inserted in-process via FleetService.create in "
        f"{seed_seconds:.1f} s; Prometheus had scraped all node targets {scrape_wait:.1f} s "
        "after the app was up"
    )
    print()


def run_benchmark(args: argparse.Namespace, root: Path, daemons: list[Daemon]) -> None:
    settings = bench_settings(root, prometheus_port=free_port(), app_port=free_port())
    services = prepared_services(settings)
    try:
        seed_seconds = seed_fleet(services, args.servers, exporter_port=free_port())
        token = admin_token(services)
    finally:
        services.close()
    config = settings.prometheus_dir / "prometheus.yml"
    daemons.append(
        start_prometheus(config, port_of(settings.prometheus_self_target), root / "prometheus")
    )
    workers = next(p.default for p in serve.params if p.name == "workers")
    server = start_app(settings, port_of(settings.bind), root / "logs", workers)
    daemons.append(server.daemon)
    scrape_wait = wait_for_scrapes(settings.prometheus_url, args.servers)
    print_header(args, seed_seconds, scrape_wait)
    api = token_session(token)
    measure(
        "GET /api/servers (bearer token)", api, f"{server.url}/api/servers", args, API_P99_GOAL_MS
    )
    report("after each change", after_each_change(api, server.url, args.requests // 5), None)
    print()
    dashboard = login_session(server.url, settings.admin_username, server.admin_password)
    measure("GET / (dashboard, logged-in session)", dashboard, f"{server.url}/", args, None)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    return run_with_daemons(
        "dc-bench-api-", lambda root, daemons: run_benchmark(args, root, daemons)
    )


if __name__ == "__main__":
    raise SystemExit(main())
