"""A throwaway PostgreSQL server (Debian's package) in a temp dir, on a free loopback port."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from tests.support.processes import free_port


def _pg_bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if not found:
        raise RuntimeError("PostgreSQL is not installed; run scripts/install-deps.sh")
    return found[-1]


def _as_postgres(argv: list[str]) -> subprocess.CompletedProcess:
    command = argv if os.geteuid() != 0 else ["runuser", "-u", "postgres", "--", *argv]
    return subprocess.run(command, capture_output=True, text=True, check=False)


@dataclass
class PostgresServer:
    data_dir: Path
    port: int

    @property
    def url(self) -> str:
        return f"postgresql+psycopg2://postgres@127.0.0.1:{self.port}/dc_overview"

    def stop(self) -> None:
        _as_postgres([_pg_bin("pg_ctl"), "-D", str(self.data_dir), "-m", "immediate", "stop"])
        shutil.rmtree(self.data_dir.parent, ignore_errors=True)


def start_postgres(root: Path) -> PostgresServer:
    root.mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
    data_dir, port = root / "pgdata", free_port()
    steps = [
        [_pg_bin("initdb"), "-D", str(data_dir), "-A", "trust", "-U", "postgres"],
        [_pg_bin("pg_ctl"), "-D", str(data_dir), "-l", str(root / "pg.log"), "-w", "start",
         "-o", f"-h 127.0.0.1 -p {port} -k {root}"],
        [_pg_bin("createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "dc_overview"],
    ]  # fmt: skip
    for argv in steps:
        result = _as_postgres(argv)
        if result.returncode != 0:
            raise RuntimeError(f"{argv[0]} failed: {result.stdout}{result.stderr}")
    time.sleep(0.2)
    return PostgresServer(data_dir, port)
