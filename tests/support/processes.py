"""Starting and stopping the real daemons the tests use, on free loopback ports."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import requests


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def require_binary(name: str) -> str:
    """The path of a binary the test needs; fails (never skips) with the fix when it is absent."""
    path = shutil.which(name)
    if path is None:
        raise RuntimeError(f"{name} is not installed; run .ci/run or scripts/install-test-deps.sh")
    return path


def wait_for_http(url: str, timeout: float = 30.0, process: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"process exited with {process.returncode} before {url} answered")
        try:
            if requests.get(url, timeout=2).status_code < 500:
                return
        except requests.RequestException as exc:
            last = exc
        time.sleep(0.1)
    raise TimeoutError(f"{url} did not answer within {timeout}s: {last}")


@dataclass
class Daemon:
    """A child process with its output in a log file; `stop()` terminates it."""

    name: str
    process: subprocess.Popen
    log_path: Path

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:]


def start_daemon(name: str, argv: list[str], log_dir: Path, env: dict | None = None) -> Daemon:
    log_path = log_dir / f"{name}.log"
    log_dir.mkdir(parents=True, exist_ok=True)
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            argv, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})}
        )
    return Daemon(name, process, log_path)


def cli_binary() -> str:
    """The `dc-overview` console script of the interpreter running the tests."""
    path = Path(sys.executable).parent / "dc-overview"
    if not path.exists():
        raise RuntimeError(f"{path} missing: install the project (pip install -e .[test])")
    return str(path)


def wait_until(check: Callable[[], object], timeout: float, what: str) -> object:
    """Poll `check()` until it returns something true (returned); fail naming `what`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.3)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")
