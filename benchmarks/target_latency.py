"""Seconds from `POST /api/servers` until Prometheus scrapes the new server's node_exporter.

Starts node_exporter, a real Prometheus (prometheus.yml rendered by the app's own bootstrap,
the same `prepare()` that `dc-overview serve` runs, with the Settings default scrape
interval unless --scrape-interval is given) and `dc-overview serve` on free loopback ports
with temp dirs. Then, once per run, POSTs a new server pointing at that node_exporter and polls
`/prometheus/api/v1/targets` every 100 ms, recording when the target first appears
(discovery: the app wrote the file_sd file and Prometheus read it) and when its health is "up"
(its first scrape succeeded). Prints figures only: it asserts no wall-clock limit.

    .venv/bin/python -m benchmarks.target_latency [--runs 5]
"""

from __future__ import annotations

import argparse
import statistics
import time
from dataclasses import dataclass
from pathlib import Path

import requests
import yaml
from tests.support.processes import Daemon, free_port
from tests.support.stack import start_app, start_node_exporter, start_prometheus

from benchmarks.common import (
    admin_token,
    bench_settings,
    port_of,
    prepared_services,
    run_with_daemons,
    token_session,
)
from dc_overview.prometheus.client import PrometheusClient
from dc_overview.settings import Settings

UP_GOAL_S = 10.0
POLL_S = 0.1


@dataclass
class Timing:
    name: str
    post: float  # seconds the POST itself took
    discovered: float  # seconds from sending the POST to the target in /api/v1/targets
    up: float  # seconds from sending the POST to the target's health "up"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="servers to add (default 5)")
    parser.add_argument(
        "--scrape-interval",
        default=Settings().scrape_interval,
        help=f"Prometheus scrape interval (default: the Settings default, "
        f"{Settings().scrape_interval})",
    )
    parser.add_argument(
        "--timeout", type=float, default=60.0, help="give up on one run after this many seconds"
    )
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    return args


def find_target(client: PrometheusClient, name: str) -> dict | None:
    for target in client.active_targets():
        if target.get("scrapePool") == "node" and target["labels"].get("instance") == name:
            return target
    return None


def add_and_wait(
    session: requests.Session,
    app_url: str,
    client: PrometheusClient,
    index: int,
    node_port: int,
    timeout: float,
) -> Timing:
    """POST server `index` and poll Prometheus until its node target is up."""
    name = f"bench-node-{index}"
    body = {
        "name": name,
        "server_ip": "127.0.0.1",
        "ssh_port": 22 + index,
        "exporters": {"node": {"enabled": True, "installed": True, "port": node_port}},
    }
    start = time.monotonic()
    response = session.post(f"{app_url}/api/servers", json=body, timeout=30)
    post = time.monotonic() - start
    if response.status_code != 201:
        raise RuntimeError(f"POST /api/servers: HTTP {response.status_code}: {response.text}")
    discovered: float | None = None
    while time.monotonic() - start < timeout:
        target = find_target(client, name)
        seen = time.monotonic() - start
        if target is not None and discovered is None:
            discovered = seen
        if target is not None and target.get("health") == "up":
            return Timing(name, post, discovered or seen, seen)
        time.sleep(POLL_S)
    raise TimeoutError(f"{name}: not up after {timeout}s (discovered: {discovered})")


def prometheus_interval(prometheus_url: str) -> str:
    """The global scrape_interval Prometheus itself reports from its loaded config."""
    response = requests.get(f"{prometheus_url}/api/v1/status/config", timeout=10)
    response.raise_for_status()
    config = yaml.safe_load(response.json()["data"]["yaml"])
    return str(config["global"]["scrape_interval"])


def spread(values: list[float]) -> str:
    return (
        f"min {min(values):5.2f} s  median {statistics.median(values):5.2f} s  "
        f"max {max(values):5.2f} s"
    )


def report(timings: list[Timing]) -> None:
    print()
    print("summary over", len(timings), "runs:")
    ups = [t.up for t in timings]
    discoveries = [t.discovered for t in timings]
    print(f"  POST -> in /api/v1/targets (discovery):  {spread(discoveries)}")
    first_scrapes = [t.up - t.discovered for t in timings]
    print(f"  discovery -> health up (first scrape):    {spread(first_scrapes)}")
    print(f"  POST -> health up (total):                {spread(ups)}")
    print(
        f"  ratio to the {UP_GOAL_S:.0f} s goal: median {statistics.median(ups) / UP_GOAL_S:.2f}, "
        f"max {max(ups) / UP_GOAL_S:.2f}"
    )


def start_stack(settings: Settings, root: Path, daemons: list[Daemon]) -> tuple[str, int]:
    """node_exporter, Prometheus and the app; returns the app's URL and node_exporter's port."""
    node, node_port = start_node_exporter(root / "logs")
    daemons.append(node)
    config = settings.prometheus_dir / "prometheus.yml"
    prometheus_port = port_of(settings.prometheus_self_target)
    daemons.append(start_prometheus(config, prometheus_port, root / "prometheus"))
    server = start_app(settings, port_of(settings.bind), root / "logs")
    daemons.append(server.daemon)
    return server.url, node_port


def run_benchmark(args: argparse.Namespace, root: Path, daemons: list[Daemon]) -> None:
    settings = bench_settings(root, free_port(), free_port(), scrape_interval=args.scrape_interval)
    services = prepared_services(settings)  # renders prometheus.yml, as `serve` does
    try:
        token = admin_token(services)
    finally:
        services.close()
    app_url, node_port = start_stack(settings, root, daemons)
    client = PrometheusClient(settings.prometheus_url)
    default = " (Settings default)" if args.scrape_interval == Settings().scrape_interval else ""
    print(
        f"scrape interval: {args.scrape_interval}{default}; Prometheus reports "
        f"scrape_interval {prometheus_interval(settings.prometheus_url)}; "
        f"polling /prometheus/api/v1/targets every {POLL_S * 1000:.0f} ms"
    )
    session = token_session(token)
    timings = []
    for index in range(args.runs):
        timing = add_and_wait(session, app_url, client, index, node_port, args.timeout)
        timings.append(timing)
        print(
            f"  run {index + 1}: {timing.name}: POST {timing.post * 1000:.0f} ms, "
            f"discovered {timing.discovered:5.2f} s, up {timing.up:5.2f} s "
            f"(first scrape {timing.up - timing.discovered:5.2f} s after discovery)"
        )
    report(timings)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    return run_with_daemons(
        "dc-bench-targets-", lambda root, daemons: run_benchmark(args, root, daemons)
    )


if __name__ == "__main__":
    raise SystemExit(main())
