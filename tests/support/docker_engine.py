"""A real Docker engine for tests: started here when none answers (no systemd on these hosts)."""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

from dc_overview.deploy.engine import engine_available

DOCKERD_LOG = Path("/var/log/dockerd.log")


def ensure_docker(timeout: float = 60.0) -> None:
    """Make sure `docker info` works; fails (never skips) with the fix when it cannot."""
    if engine_available():
        return
    dockerd = shutil.which("dockerd")
    if dockerd is None:
        raise RuntimeError("dockerd is not installed; run scripts/install-deps.sh --test")
    with open(DOCKERD_LOG, "ab") as log:
        subprocess.Popen(
            [dockerd], stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True,
        )  # fmt: skip
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if engine_available():
            return
        time.sleep(1)
    raise RuntimeError(f"dockerd did not start within {timeout}s; see {DOCKERD_LOG}")
