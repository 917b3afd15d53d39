"""The proxy's users: scrypt password hashes in SQLite (0600) with lockout after failures."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
import secrets
import sqlite3
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path

ROLES = ("admin", "viewer")
USERNAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$")
MIN_PASSWORD = 8
_SCRYPT = {"n": 2**15, "r": 8, "p": 1}
_SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    username TEXT PRIMARY KEY, password_hash TEXT NOT NULL, role TEXT NOT NULL, created REAL
);
CREATE TABLE IF NOT EXISTS failures (
    key TEXT PRIMARY KEY, count INTEGER NOT NULL, first_at REAL NOT NULL, locked_until REAL
);
"""


class UserError(ValueError):
    """A user cannot be created or changed as asked; the message says why."""


class LockedOut(Exception):
    """Too many failed logins; `seconds` until the next try is allowed."""

    def __init__(self, seconds: int) -> None:
        super().__init__(f"Too many failed logins. Try again in {max(1, seconds // 60)} minute(s).")
        self.seconds = seconds


@dataclass(frozen=True)
class User:
    username: str
    role: str
    password_hash: str

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    @property
    def session_version(self) -> str:
        """Changes when the password changes, which ends older sessions."""
        return hashlib.sha256(self.password_hash.encode()).hexdigest()[:16]


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, maxmem=64 * 2**20, dklen=32, **_SCRYPT)
    n, r, p = _SCRYPT["n"], _SCRYPT["r"], _SCRYPT["p"]
    return f"scrypt${n}${r}${p}${_b64(salt)}${_b64(digest)}"


def check_password(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = base64.b64decode(digest)
        actual = hashlib.scrypt(
            password.encode(), salt=base64.b64decode(salt), n=int(n), r=int(r), p=int(p),
            maxmem=64 * 2**20, dklen=len(expected),
        )  # fmt: skip
    except ValueError:
        return False
    return hmac.compare_digest(actual, expected)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


@cache
def _dummy_hash() -> str:
    """A hash to check unknown users against, so they take as long as known ones."""
    return hash_password(secrets.token_urlsafe(16))


class UserStore:
    """Users and failed-login counters in one SQLite file, safe across gunicorn workers."""

    def __init__(self, path: Path, max_failures: int = 5, lockout_seconds: int = 900) -> None:
        self.path = path
        self.max_failures = max_failures
        self.lockout_seconds = lockout_seconds
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists():
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
        os.chmod(path, 0o600)
        with closing(sqlite3.connect(self.path, timeout=15)) as db:
            db.executescript(_SCHEMA)

    @contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        with closing(sqlite3.connect(self.path, timeout=15, isolation_level=None)) as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")

    def count(self) -> int:
        with self._db() as db:
            return db.execute("SELECT COUNT(*) FROM users").fetchone()[0]

    def get(self, username: str) -> User | None:
        with self._db() as db:
            row = db.execute(
                "SELECT username, role, password_hash FROM users WHERE username = ?", (username,)
            ).fetchone()
        return User(*row) if row else None

    def list(self) -> list[User]:
        with self._db() as db:
            rows = db.execute("SELECT username, role, password_hash FROM users ORDER BY username")
            return [User(*row) for row in rows.fetchall()]

    def add(self, username: str, password: str, role: str, only_if_empty: bool = False) -> bool:
        """Create a user; with `only_if_empty`, only when there is no user yet (first admin)."""
        _check_new(username, password, role)
        password_hash = hash_password(password)
        with self._db() as db:
            if only_if_empty and db.execute("SELECT COUNT(*) FROM users").fetchone()[0]:
                return False
            try:
                db.execute(
                    "INSERT INTO users VALUES (?, ?, ?, ?)",
                    (username, password_hash, role, time.time()),
                )
            except sqlite3.IntegrityError:
                raise UserError(f"user {username!r} already exists") from None
        return True

    def set_password(self, username: str, password: str) -> None:
        _check_new(username, password, "admin")
        with self._db() as db:
            changed = db.execute(
                "UPDATE users SET password_hash = ? WHERE username = ?",
                (hash_password(password), username),
            ).rowcount
        if not changed:
            raise UserError(f"no user {username!r}")

    def remove(self, username: str) -> None:
        with self._db() as db:
            if not db.execute("DELETE FROM users WHERE username = ?", (username,)).rowcount:
                raise UserError(f"no user {username!r}")

    def authenticate(self, username: str, password: str, client: str) -> User | None:
        """The user when the password is right; raises LockedOut while a lock is in force."""
        keys = (f"user:{username.lower()}", f"ip:{client}")
        self._raise_if_locked(keys)
        user = self.get(username)
        if check_password(password, user.password_hash if user else _dummy_hash()) and user:
            with self._db() as db:
                db.executemany("DELETE FROM failures WHERE key = ?", [(k,) for k in keys])
            return user
        self._record_failure(keys)
        return None

    def _raise_if_locked(self, keys: tuple[str, ...]) -> None:
        now = time.time()
        with self._db() as db:
            rows = db.execute(
                "SELECT MAX(locked_until) FROM failures WHERE key IN (?, ?)", keys
            ).fetchone()
        if rows[0] and rows[0] > now:
            raise LockedOut(int(rows[0] - now) + 1)

    def _record_failure(self, keys: tuple[str, ...]) -> None:
        now = time.time()
        with self._db() as db:
            for key in keys:
                row = db.execute("SELECT count, first_at FROM failures WHERE key = ?", (key,))
                found = row.fetchone()
                count = 1
                first_at = now
                if found and now - found[1] < self.lockout_seconds:
                    count, first_at = found[0] + 1, found[1]
                locked = now + self.lockout_seconds if count >= self.max_failures else None
                db.execute(
                    "INSERT OR REPLACE INTO failures VALUES (?, ?, ?, ?)",
                    (key, count, first_at, locked),
                )


def _check_new(username: str, password: str, role: str) -> None:
    if not USERNAME_RE.match(username):
        raise UserError("user names are 1-64 letters, digits and . _ @ - (starting alphanumeric)")
    if role not in ROLES:
        raise UserError(f"role must be one of {', '.join(ROLES)}")
    if len(password) < MIN_PASSWORD:
        raise UserError(f"passwords need at least {MIN_PASSWORD} characters")
