"""The published ipmi-monitor 1.2.0, run in a subprocess that has no way off the machine.

It is a test dependency. When the test interpreter lacks it, a virtual environment is made once
from PyPI under the temp dir (cached between runs); failing that, the test fails with the fix.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

RELEASE = "ipmi-monitor==1.2.0"
VENV = Path(tempfile.gettempdir()) / "dc-overview-tests" / "ipmi-monitor-1.2.0"
SCRIPT = Path(__file__).with_name("make_ipmi_db.py")
# A closed loopback port: its licence checks and exit report cannot leave the machine.
NO_NETWORK = {"HTTP_PROXY": "http://127.0.0.1:9", "HTTPS_PROXY": "http://127.0.0.1:9",
              "http_proxy": "http://127.0.0.1:9", "https_proxy": "http://127.0.0.1:9",
              "NO_PROXY": "", "no_proxy": ""}  # fmt: skip


def _has_release(python: str) -> bool:
    probe = "import importlib.metadata as m; print(m.version('ipmi-monitor'))"
    try:
        found = subprocess.run([python, "-c", probe], capture_output=True, text=True, timeout=60)
    except OSError:
        return False
    return found.returncode == 0 and found.stdout.strip() == "1.2.0"


def ipmi_monitor_python() -> str:
    """A Python interpreter that has ipmi-monitor 1.2.0."""
    if _has_release(sys.executable):
        return sys.executable
    python = VENV / "bin" / "python"
    if not _has_release(str(python)):
        steps = [[sys.executable, "-m", "venv", "--clear", str(VENV)],
                 [str(python), "-m", "pip", "install", "--quiet", RELEASE]]  # fmt: skip
        for step in steps:
            result = subprocess.run(step, capture_output=True, text=True, timeout=900)
            if result.returncode != 0:
                pytest.fail(
                    f"{RELEASE} is a test dependency and could not be installed "
                    f"({' '.join(step[:4])}: {result.stderr.strip()[-500:]}); "
                    f"install it with `.venv/bin/pip install {RELEASE}`",
                    pytrace=False,
                )
    return str(python)


def make_ipmi_database(python: str, data_dir: Path, spec: dict) -> dict[str, int]:
    """Create `data_dir/ipmi_events.db` with ipmi-monitor's own models; returns key ids."""
    data_dir.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, **NO_NETWORK, "DATA_DIR": str(data_dir),
           "SECRET_KEY": "test-only-secret-key-of-enough-length"}  # fmt: skip
    result = subprocess.run(
        [python, str(SCRIPT), str(data_dir)],
        input=json.dumps(spec),
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        cwd=data_dir,
    )
    assert result.returncode == 0, f"ipmi-monitor failed:\n{result.stderr[-3000:]}"
    return json.loads(result.stdout.strip().splitlines()[-1])
