"""A real Docker engine for tests: started here when none answers (no systemd on these hosts)."""

from __future__ import annotations

import shutil

from dc_overview.deploy.dockerhost import start_daemon
from dc_overview.deploy.engine import engine_available


def ensure_docker(timeout: float = 60.0) -> None:
    """Make sure `docker info` works; fails (never skips) with the fix when it cannot."""
    if engine_available():
        return
    if shutil.which("dockerd") is None:
        raise RuntimeError("dockerd is not installed; run scripts/install-deps.sh --test")
    start_daemon(timeout)
