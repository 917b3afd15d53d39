"""Waiting for the stack's containers to become healthy, with a progress display."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable

from dc_overview.deploy.engine import container_state, docker_binary

Progress = Callable[[dict[str, str]], None]


class StackUnhealthy(RuntimeError):
    """A container did not become healthy; the message names it and shows its last log lines."""


def container_status(name: str) -> str:
    """healthy / starting / unhealthy / running (no healthcheck) / restarting / exited / missing."""
    state = container_state(name)
    if state is None:
        return "missing"
    if state.get("Restarting"):
        return "restarting"
    if not state.get("Running"):
        return "exited"
    health = state.get("Health")
    return health.get("Status", "starting") if health else "running"


def _last_logs(name: str, lines: int = 20) -> str:
    """Both streams: a crashing Python process writes its traceback to stderr."""
    result = subprocess.run(
        [docker_binary(), "logs", "--tail", str(lines), name],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    return result.stdout.strip()


def wait_healthy(
    names: list[str], timeout: float = 180.0, progress: Progress | None = None
) -> dict[str, str]:
    """Poll until every container is healthy (or running without a healthcheck)."""
    deadline = time.monotonic() + timeout
    statuses: dict[str, str] = {}
    while True:
        statuses = {name: container_status(name) for name in names}
        if progress:
            progress(statuses)
        if all(s in ("healthy", "running") for s in statuses.values()):
            return statuses
        broken = [n for n, s in statuses.items() if s in ("exited", "missing", "restarting")]
        if broken or time.monotonic() > deadline:
            name = (broken or [n for n, s in statuses.items() if s != "healthy"])[0]
            raise StackUnhealthy(
                f"{name} is {statuses[name]}. Last log lines:\n{_last_logs(name)}\n"
                f"See all with: dc-overview logs {name}"
            )
        time.sleep(1.0)
