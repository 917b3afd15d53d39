"""IPMI Monitor's database: read-only, through a writer's lock; what is not one is refused."""

from __future__ import annotations

import re
import sqlite3
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from dc_overview.cli import main
from dc_overview.interop import ipmi_db
from dc_overview.interop.importer import import_ipmi_config
from dc_overview.interop.ipmi_db import read_database
from dc_overview.interop.source import IpmiSourceError
from dc_overview.services import Services
from tests.interop.conftest import ipmi_fixture, writable_copy
from tests.support.snapshot import inventory_snapshot


def test_the_join_follows_ipmi_monitor() -> None:
    fleet = read_database(ipmi_fixture())
    servers = {s.server_name: s for s in fleet.servers}
    assert list(servers) == ["gpu-node-01", "gpu-node-02", "gpu-node-03", "gpu-node-04"]
    assert [k.name for k in fleet.keys] == ["gpu-fleet-ed25519", "gpu-legacy-ed25519"]
    assert servers["gpu-node-02"].ssh_port == 2222
    assert servers["gpu-node-02"].key.name == "gpu-fleet-ed25519"
    assert servers["gpu-node-03"].key.name == "gpu-legacy-ed25519"
    assert servers["gpu-node-03"].server_ip is None
    assert servers["gpu-node-03"].retired == "deprecated in IPMI Monitor: decommissioned (fixture)"
    assert servers["gpu-node-04"].key is None and servers["gpu-node-04"].has_password
    assert fleet.keys[0].content.startswith("-----BEGIN OPENSSH PRIVATE KEY-----")
    assert fleet.unreadable == []


def _write_while_locked(path: Path, mode: str) -> sqlite3.Connection:
    """Another connection in the middle of a write transaction, as IPMI Monitor would be."""
    writer = sqlite3.connect(path, isolation_level=None, timeout=0)
    writer.execute(f"BEGIN {mode}")
    writer.execute("UPDATE server SET server_name = 'uncommitted' WHERE bmc_ip = '10.10.0.11'")
    writer.execute("UPDATE server_config SET ssh_port = 2999")
    return writer


@pytest.mark.parametrize("mode", ["IMMEDIATE", "EXCLUSIVE"])
def test_a_database_locked_by_a_writer_still_imports(
    tmp_path: Path, services: Services, mode: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = writable_copy(tmp_path)
    copies: list[Path] = []
    real_copy = ipmi_db._read_copy
    monkeypatch.setattr(ipmi_db, "_read_copy", lambda p, e: copies.append(p) or real_copy(p, e))
    writer = _write_while_locked(path, mode)
    try:
        started = time.monotonic()
        report = import_ipmi_config(services, db=path)
        elapsed = time.monotonic() - started
        assert {o.name for o in report.of("server", "imported")} == {
            "gpu-node-01", "gpu-node-02", "gpu-node-04",
        }  # fmt: skip
        ports = {s.name: s.ssh_port for s in services.fleet.list_servers()}
        assert ports == {"gpu-node-01": 22, "gpu-node-02": 2222, "gpu-node-04": 22}
        assert elapsed < 10
        assert copies == ([path] if mode == "EXCLUSIVE" else [])
        writer.execute("COMMIT")  # the writer was never blocked for good
    finally:
        writer.close()
    assert read_database(path).servers[0].server_name == "uncommitted"


def test_a_hot_journal_left_by_a_crashed_writer_reads_the_committed_state(
    tmp_path: Path,
) -> None:
    path = writable_copy(tmp_path)
    writer = sqlite3.connect(path, isolation_level=None)
    writer.execute("PRAGMA cache_size = 1")  # spill changed pages into the file before commit
    writer.execute("BEGIN EXCLUSIVE")
    writer.execute("UPDATE server SET notes = ? ", ("x" * 3000,))
    writer.execute("UPDATE server SET server_name = 'uncommitted'")
    assert path.read_bytes() != ipmi_fixture().read_bytes(), "pages must have spilled"
    assert Path(f"{path}-journal").exists()
    try:
        names = [s.server_name for s in read_database(path).servers]
    finally:
        writer.execute("ROLLBACK")
        writer.close()
    assert names == ["gpu-node-01", "gpu-node-02", "gpu-node-03", "gpu-node-04"]


def _other_product(path: Path) -> None:
    with sqlite3.connect(path) as other:
        other.execute("CREATE TABLE servers (id INTEGER PRIMARY KEY, name TEXT, address TEXT)")
        other.execute("CREATE TABLE ssh_keys (id INTEGER PRIMARY KEY, pem TEXT)")
        other.execute("INSERT INTO servers VALUES (1, 'gpu-01', '10.0.0.1')")
    other.close()


def _corrupt(path: Path) -> None:
    data = bytearray(ipmi_fixture().read_bytes())
    data[100:] = bytes(len(data) - 100)  # header intact, every page zeroed
    path.write_bytes(bytes(data))


def _truncated(path: Path) -> None:
    path.write_bytes(ipmi_fixture().read_bytes()[:12288])


BAD_FILES = [
    ("corrupt", _corrupt, "damaged SQLite database"),
    ("truncated", _truncated, "damaged SQLite database"),
    ("empty", lambda p: p.write_bytes(b""), "empty file (0 bytes)"),
    ("text", lambda p: p.write_text("servers:\n  - gpu-01\n"), "not a SQLite database"),
    ("other product", _other_product, "not an IPMI Monitor database: no table server"),
    ("no tables", lambda p: sqlite3.connect(p).execute("VACUUM").connection.close(), "holds no"),
]


@pytest.mark.parametrize("label, make, message", BAD_FILES, ids=[b[0] for b in BAD_FILES])
def test_what_is_not_an_ipmi_monitor_database_is_refused_and_nothing_changes(
    tmp_path: Path, services: Services, label: str, make, message: str
) -> None:
    services.fleet.create({"name": "already-here", "server_ip": "10.0.0.9"})
    before = inventory_snapshot(services)
    path = tmp_path / "bad" / "ipmi_events.db"
    path.parent.mkdir()
    make(path)
    with pytest.raises(IpmiSourceError, match=re.escape(message)) as caught:
        import_ipmi_config(services, db=path)
    assert str(path) in str(caught.value)
    assert inventory_snapshot(services) == before


def test_a_missing_column_names_the_table(tmp_path: Path) -> None:
    path = writable_copy(tmp_path)
    with sqlite3.connect(path) as db:
        db.execute("ALTER TABLE server_config DROP COLUMN ssh_port")
    db.close()
    with pytest.raises(IpmiSourceError, match="table server_config has no column ssh_port"):
        read_database(path)


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(IpmiSourceError, match="does not exist"):
        read_database(tmp_path / "nowhere.db")


def test_cli_reports_a_bad_database_and_changes_nothing(tmp_path: Path) -> None:
    empty = tmp_path / "empty.db"
    empty.write_bytes(b"")
    dirs = ["--config-dir", str(tmp_path / "config"), "--data-dir", str(tmp_path / "data")]
    result = CliRunner().invoke(main, [*dirs, "import", "ipmi-monitor", "--db", str(empty)])
    assert result.exit_code == 1
    assert "empty file" in result.output
    assert "Nothing was changed." in result.output


def test_a_crashed_writers_journal_is_rolled_back_in_a_copy_only(tmp_path: Path) -> None:
    """IPMI Monitor died mid-write: its hot journal is left alone; we read the last commit."""
    path = writable_copy(tmp_path)
    crashed = tmp_path / "crashed" / "ipmi_events.db"
    crashed.parent.mkdir()
    writer = sqlite3.connect(path, isolation_level=None)
    writer.execute("PRAGMA cache_size = 1")
    writer.execute("BEGIN EXCLUSIVE")
    writer.execute("UPDATE server SET notes = ?", ("x" * 3000,))
    writer.execute("UPDATE server SET server_name = 'uncommitted'")
    crashed.write_bytes(path.read_bytes())  # the files as a crash would leave them
    Path(f"{crashed}-journal").write_bytes(Path(f"{path}-journal").read_bytes())
    writer.execute("ROLLBACK")
    writer.close()
    left = {p.name: p.read_bytes() for p in crashed.parent.iterdir()}

    names = [s.server_name for s in read_database(crashed).servers]

    assert names == ["gpu-node-01", "gpu-node-02", "gpu-node-03", "gpu-node-04"]
    assert {p.name: p.read_bytes() for p in crashed.parent.iterdir()} == left
