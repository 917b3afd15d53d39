"""Atomic writes and secret files (0600 in 0700 directories)."""

from __future__ import annotations

import os
import secrets
import tempfile
from pathlib import Path


def ensure_private_dir(path: Path) -> Path:
    """Create `path` (and parents) and make it 0700."""
    path.mkdir(parents=True, exist_ok=True)
    os.chmod(path, 0o700)
    return path


def atomic_write(path: Path, data: str | bytes, mode: int = 0o644) -> None:
    """Write `data` to `path` through a temp file in the same directory and a rename."""
    payload = data.encode() if isinstance(data, str) else data
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_secret(path: Path) -> str | None:
    """A secret file's stripped content, or None when absent; refuses files others can read."""
    try:
        mode = path.stat().st_mode & 0o777
    except FileNotFoundError:
        return None
    if mode & 0o077:
        raise PermissionError(f"{path} is readable by others (mode {mode:o}); run chmod 600 {path}")
    return path.read_text().strip() or None


def ensure_secret(path: Path, nbytes: int = 32) -> str:
    """The secret in `path`; a new random one (0600, dir 0700) when the file is absent."""
    existing = read_secret(path)
    if existing:
        return existing
    if not path.parent.exists():
        ensure_private_dir(path.parent)
    value = secrets.token_urlsafe(nbytes)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(value + "\n")
        os.link(tmp, path)  # create-if-absent with the whole content, atomically
    except FileExistsError:  # another process made it first
        return read_secret(path) or ""
    finally:
        Path(tmp).unlink(missing_ok=True)
    return value
