"""IPMI Monitor's SQLite database (`ipmi_events.db`), read without writing to it or blocking it.

The file is opened with `mode=ro` and a short busy timeout, and read in one read transaction.
When that fails because IPMI Monitor holds a write lock (or the file cannot be opened read-only,
e.g. a WAL database on a read-only mount), a private copy of the file and its journal is read
instead: SQLite rolls a hot journal back in the copy, which yields the last committed state.
"""

from __future__ import annotations

import shutil
import sqlite3
import tempfile
import time
from contextlib import closing, suppress
from pathlib import Path
from typing import Any
from urllib.parse import quote

from dc_overview.interop.source import IpmiFleet, IpmiKey, IpmiServer, IpmiSourceError, Unreadable

SQLITE_MAGIC = b"SQLite format 3\x00"
REQUIRED_COLUMNS: dict[str, tuple[str, ...]] = {
    "server": ("server_name", "bmc_ip", "server_ip", "enabled", "status"),
    "server_config": ("bmc_ip", "ssh_user", "ssh_port", "ssh_key_id", "ssh_pass"),
    "ssh_key": ("id", "name", "key_content"),
}
OPTIONAL_COLUMNS: dict[str, tuple[str, ...]] = {
    "server": ("deprecated_reason",),
    "server_config": ("server_ip", "ssh_key"),
}
BUSY_TIMEOUT_S = 1.0
COPY_ATTEMPTS = 3
JOURNAL_SUFFIXES = ("-journal", "-wal")


def read_database(path: Path, busy_timeout: float = BUSY_TIMEOUT_S) -> IpmiFleet:
    """Servers (joined with their config and key) and keys; `IpmiSourceError` when unusable."""
    _check_file(path)
    try:
        with closing(_connect_readonly(path, busy_timeout)) as connection:
            return _read(connection, path)
    except sqlite3.OperationalError as exc:  # locked, or not openable read-only: read a copy
        return _read_copy(path, exc)
    except sqlite3.DatabaseError as exc:
        raise _damaged(path, exc) from None


def _check_file(path: Path) -> None:
    try:
        with path.open("rb") as handle:
            header = handle.read(len(SQLITE_MAGIC))
    except FileNotFoundError:
        raise IpmiSourceError(f"{path} does not exist") from None
    except IsADirectoryError:
        raise IpmiSourceError(f"{path} is a folder, not IPMI Monitor's database file") from None
    except PermissionError:
        raise IpmiSourceError(f"{path} is not readable by this user; run as root") from None
    if not header:
        raise IpmiSourceError(f"{path} is an empty file (0 bytes), not an IPMI Monitor database")
    if header != SQLITE_MAGIC:
        raise IpmiSourceError(f"{path} is not a SQLite database, so not IPMI Monitor's")


def _damaged(path: Path, exc: sqlite3.DatabaseError) -> IpmiSourceError:
    return IpmiSourceError(f"{path} is a damaged SQLite database ({exc}); nothing was imported")


def _connect_readonly(path: Path, busy_timeout: float) -> sqlite3.Connection:
    uri = f"file:{quote(str(path.resolve()))}?mode=ro"
    connection = sqlite3.connect(uri, uri=True, timeout=busy_timeout, isolation_level=None)
    connection.row_factory = sqlite3.Row
    return connection


def _read_copy(path: Path, first_error: sqlite3.Error) -> IpmiFleet:
    """Read a private copy; retried when the file changed while it was being copied."""
    last_error: sqlite3.Error = first_error
    for attempt in range(COPY_ATTEMPTS):
        with tempfile.TemporaryDirectory(prefix="dco-ipmi-") as folder:
            copy = Path(folder) / path.name
            if not _copy_unchanged(path, copy):
                time.sleep(0.2 * (attempt + 1))
                continue
            try:
                with closing(sqlite3.connect(copy, isolation_level=None)) as connection:
                    connection.row_factory = sqlite3.Row
                    _quick_check(connection)
                    return _read(connection, path)
            except sqlite3.DatabaseError as exc:
                last_error = exc
    raise IpmiSourceError(
        f"{path} could not be read, not even as a copy ({last_error}); nothing was imported"
    )


def _copy_unchanged(source: Path, copy: Path) -> bool:
    """Copy the database and its journals; False when the database changed meanwhile."""
    before = _signature(source)
    shutil.copyfile(source, copy)
    for suffix in JOURNAL_SUFFIXES:
        with suppress(FileNotFoundError):
            shutil.copyfile(f"{source}{suffix}", f"{copy}{suffix}")
    return _signature(source) == before


def _signature(path: Path) -> tuple[int, int]:
    stat = path.stat()
    return stat.st_mtime_ns, stat.st_size


def _quick_check(connection: sqlite3.Connection) -> None:
    result = connection.execute("PRAGMA quick_check").fetchone()[0]
    if result != "ok":
        raise sqlite3.DatabaseError(f"integrity check: {result}")


def _read(connection: sqlite3.Connection, path: Path) -> IpmiFleet:
    """Everything in one read transaction, so the three tables are one consistent snapshot."""
    connection.execute("BEGIN")
    try:
        columns = _columns(connection, path)
        keys = {
            row["id"]: IpmiKey(row["name"], row["key_content"] or "", f"ssh_key id {row['id']}")
            for row in connection.execute("SELECT id, name, key_content FROM ssh_key ORDER BY id")
        }
        defaults = _settings(connection, columns)
        rows = connection.execute(_server_query(columns)).fetchall()
    finally:
        if connection.in_transaction:
            connection.execute("ROLLBACK")
    fleet = IpmiFleet(origin=str(path), keys=list(keys.values()))
    for row in rows:
        _add_server(fleet, row, keys, defaults)
    return fleet


def _columns(connection: sqlite3.Connection, path: Path) -> dict[str, set[str]]:
    tables = [
        row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type='table'")
    ]
    if not tables:
        raise IpmiSourceError(f"{path} holds no tables: an empty database, not IPMI Monitor's")
    missing = [name for name in REQUIRED_COLUMNS if name not in tables]
    if missing:
        raise IpmiSourceError(
            f"{path} is not an IPMI Monitor database: no table {', '.join(missing)} "
            f"(it has {', '.join(sorted(tables)[:8])}{', …' if len(tables) > 8 else ''})"
        )
    columns = {
        table: {row["name"] for row in connection.execute(f"PRAGMA table_info({table})")}
        for table in (*REQUIRED_COLUMNS, "system_settings")
    }
    for table, needed in REQUIRED_COLUMNS.items():
        absent = [name for name in needed if name not in columns[table]]
        if absent:
            raise IpmiSourceError(
                f"{path}: table {table} has no column {', '.join(absent)}; "
                "this is not a database of a supported IPMI Monitor version"
            )
    return columns


def _settings(connection: sqlite3.Connection, columns: dict[str, set[str]]) -> dict[str, str]:
    """IPMI Monitor's global SSH defaults (`system_settings`), used where a server has none."""
    if not {"key", "value"} <= columns["system_settings"]:
        return {}
    query = "SELECT key, value FROM system_settings WHERE key IN ('ssh_user', 'default_ssh_key_id')"
    return {row["key"]: row["value"] for row in connection.execute(query) if row["value"]}


def _server_query(columns: dict[str, set[str]]) -> str:
    def optional(alias: str, table: str, name: str, label: str) -> str:
        return f"{alias}.{name} AS {label}" if name in columns[table] else f"NULL AS {label}"

    return (
        "SELECT s.server_name, s.bmc_ip, s.server_ip, s.enabled, s.status, "
        f"{optional('s', 'server', 'deprecated_reason', 'deprecated_reason')}, "
        f"{optional('c', 'server_config', 'server_ip', 'config_server_ip')}, "
        "c.ssh_user, c.ssh_port, c.ssh_key_id, c.ssh_pass, "
        f"{optional('c', 'server_config', 'ssh_key', 'inline_key')} "
        "FROM server AS s LEFT JOIN server_config AS c ON c.bmc_ip = s.bmc_ip ORDER BY s.rowid"
    )


def _add_server(
    fleet: IpmiFleet, row: sqlite3.Row, keys: dict[Any, IpmiKey], defaults: dict[str, str]
) -> None:
    name, bmc_ip = _text(row["server_name"]), _text(row["bmc_ip"])
    if not name or not bmc_ip:
        what = f"server row {name or bmc_ip or '(unnamed)'}"
        fleet.unreadable.append(Unreadable(what, "server_name or bmc_ip is empty"))
        return
    key, problem = _key_for(row, name, keys, defaults)
    fleet.servers.append(
        IpmiServer(
            server_name=name,
            bmc_ip=bmc_ip,
            server_ip=_text(row["server_ip"]) or _text(row["config_server_ip"]),
            enabled=row["enabled"] is None or bool(_number(row["enabled"])),
            status=_text(row["status"]),
            deprecated_reason=_text(row["deprecated_reason"]),
            ssh_user=_text(row["ssh_user"]) or defaults.get("ssh_user"),
            ssh_port=_number(row["ssh_port"]),
            key=key,
            key_problem=problem,
            has_password=bool(_text(row["ssh_pass"])),
        )
    )


def _key_for(
    row: sqlite3.Row, name: str, keys: dict[Any, IpmiKey], defaults: dict[str, str]
) -> tuple[IpmiKey | None, str | None]:
    """The stored key by `ssh_key_id`, else a key pasted into the config, else the default."""
    key_id = _number(row["ssh_key_id"])
    if key_id is not None:
        if key_id in keys:
            return keys[key_id], None
        return None, f"its ssh_key_id {key_id} names no key in IPMI Monitor's ssh_key table"
    inline = _text(row["inline_key"])
    if inline:
        return IpmiKey(f"{name}-key", inline, f"server_config.ssh_key of {name}"), None
    default = _number(defaults.get("default_ssh_key_id"))
    return keys.get(default), None


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _number(value: Any) -> Any:
    """Integers stored as text become int; anything else is passed on for validation to refuse."""
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return value
