"""Deploy node_exporter to N = 1, 5 and 20 workers at once vs N single-host deploys in a row.

Workers are real systemd + sshd containers (tests/remote/worker.Dockerfile) on a network this
script creates and removes. Each measurement is a first install (unit, user, upload, verify over
HTTP from here, inventory and target files). Between the parallel and the sequential run the
exporter is removed again (not timed). The node_exporter binary is Debian's
`prometheus-node-exporter`. Prints figures only.

    .venv/bin/python -m benchmarks.deploy_parallel [--sizes 1,5,20]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
from pathlib import Path

from tests.conftest import make_settings
from tests.remote.lab import Lab, worker_image

from dc_overview.bootstrap import prepare
from dc_overview.remote.installer import DeployOptions, run_job
from dc_overview.remote.jobs import Job
from dc_overview.services import Services, build_services

NODE = Path("/usr/bin/prometheus-node-exporter")


def cpu_ticks() -> tuple[int, int]:
    """(busy, total) jiffies of the whole machine, from /proc/stat."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return sum(fields) - idle, sum(fields)


def deploy(services: Services, names: list[str], remove: bool = False) -> float:
    job = Job.create("deploy", names)
    options = DeployOptions(kinds=("node",), remove=remove, node_exporter_source=NODE)
    busy_before, total_before = cpu_ticks()
    master_before = time.process_time()
    start = time.perf_counter()
    asyncio.run(run_job(services, job, options))
    elapsed = time.perf_counter() - start
    master_cpu = time.process_time() - master_before
    busy_after, total_after = cpu_ticks()
    if job.failed:
        raise RuntimeError({n: job.hosts[n].message for n in job.failed})
    if len(names) > 1 and not remove:
        share = (busy_after - busy_before) / max(total_after - total_before, 1)
        print(f"  {len(names)} hosts at once: machine CPU busy {share:.0%} of "
              f"{os.cpu_count()} cores (workers share this machine); the master itself used "
              f"{master_cpu:.2f} CPU-s", flush=True)  # fmt: skip
    return elapsed


def measure(size: int, image: str, root: Path) -> tuple[float, float]:
    services = build_services(make_settings(root / f"n{size}"))
    prepare(services)
    lab = Lab()
    try:
        lab.create_network()
        key = services.keys.generate({"name": "bench"})
        workers = [lab.start(f"b{i:02d}", image, key.public_key) for i in range(size)]
        for worker in workers:
            lab.wait_ready(worker)
            services.fleet.create({"name": worker.name, "server_ip": worker.ip,
                                   "ssh_key_id": key.id})  # fmt: skip
        names = [w.name for w in workers]
        parallel = deploy(services, names)
        deploy(services, names, remove=True)
        sequential = sum(deploy(services, [name]) for name in names)
        return parallel, sequential
    finally:
        lab.destroy()
        services.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1,5,20")
    sizes = [int(s) for s in parser.parse_args().sizes.split(",")]
    image = worker_image()
    results = {}
    with tempfile.TemporaryDirectory(prefix="dco-bench-deploy-") as tmp:
        for size in sizes:
            results[size] = measure(size, image, Path(tmp))
            parallel, sequential = results[size]
            line = (
                f"N={size:>3}: parallel {parallel:6.2f} s · {size} sequential single-host "
                f"deploys {sequential:6.2f} s · ratio {parallel / sequential:.2f}"
            )
            print(line, flush=True)
    if 1 in results and max(results) > 1:
        biggest = max(results)
        factor = results[biggest][0] / results[1][0]
        print(f"{biggest} hosts in parallel take {factor:.2f}x the time of 1 host (goal < 2x)")


if __name__ == "__main__":
    main()
