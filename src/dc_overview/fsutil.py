"""Atomic file writes and private directories."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path


def ensure_private_dir(path: Path) -> Path:
    """Create `path` (and parents) and make it 0700."""
    path.mkdir(parents=True, exist_ok=True)
    os.chmod(path, 0o700)
    return path


def atomic_write(path: Path, data: str | bytes, mode: int = 0o644) -> bool:
    """Write `data` to `path` via a temp file and rename; return False when nothing changed."""
    payload = data.encode() if isinstance(data, str) else data
    try:
        if path.read_bytes() == payload and (path.stat().st_mode & 0o777) == mode:
            return False
    except FileNotFoundError:
        pass
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
    return True


def read_secret(path: Path) -> str | None:
    """A secret file's content, or None when absent; refuses files others can read."""
    try:
        mode = path.stat().st_mode & 0o777
    except FileNotFoundError:
        return None
    if mode & 0o077:
        raise PermissionError(f"{path} is readable by others (mode {mode:o}); run chmod 600 {path}")
    return path.read_text().strip()


def ensure_secret(path: Path, make: Callable[[], str]) -> tuple[str, bool]:
    """The secret in `path`, created 0600 (in a 0700 dir) with `make()` when absent."""
    existing = read_secret(path)
    if existing:
        return existing, False
    ensure_private_dir(path.parent)
    value = make()
    atomic_write(path, value + "\n", mode=0o600)
    return value, True
