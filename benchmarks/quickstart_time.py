"""Quickstart start -> healthy stack, with a warm image cache and from no images at all.

    .venv/bin/python -m benchmarks.quickstart_time            # warm cache (images present)
    .venv/bin/python -m benchmarks.quickstart_time --cold     # removes the stack's images first

Goals: warm < 60 s, cold < 5 min. Prints figures; asserts nothing about time. Every stack it
starts is taken down with its volumes; --cold deletes the local images of the stack (they are
rebuilt by the run itself).
"""

from __future__ import annotations

import argparse
import contextlib
import tempfile
from pathlib import Path

from tests.support.docker_engine import ensure_docker
from tests.support.quickstart import leftovers, new_run, remove_stale_test_stacks

from dc_overview.deploy.builds import OFFLINE_TAGS
from dc_overview.deploy.config import ImagesConfig
from dc_overview.deploy.engine import DockerError, docker
from dc_overview.deploy.images import BASE_TAG

GOALS = {"warm": 60.0, "cold": 300.0}


def remove_images() -> None:
    images = ImagesConfig()
    for tag in (images.dc_overview, images.proxy, *OFFLINE_TAGS.values(), BASE_TAG):
        with contextlib.suppress(DockerError):
            docker(["rmi", "-f", tag])
    docker(["image", "prune", "-f"])


def measure(kind: str) -> float:
    with tempfile.TemporaryDirectory(prefix="dco-bench-qs-") as tmp:
        run = new_run(Path(tmp))
        try:
            result, seconds = run.quickstart()
            if result.returncode != 0:
                raise SystemExit(f"quickstart failed:\n{result.stdout}\n{result.stderr}")
        finally:
            run.cli("down", "--volumes")
        left = leftovers(run.project)
        if left:
            print(f"warning: left behind: {left}")
    print(f"{kind:>5}: quickstart start -> every service healthy: {seconds:6.1f} s   "
          f"goal {GOALS[kind]:.0f} s   ratio {seconds / GOALS[kind]:.2f}")  # fmt: skip
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cold", action="store_true", help="remove the stack's images first")
    args = parser.parse_args()
    ensure_docker()
    remove_stale_test_stacks()
    if args.cold:
        remove_images()
        measure("cold")
    measure("warm")


if __name__ == "__main__":
    main()
