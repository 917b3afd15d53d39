"""The version the exporters report: package metadata, or "unknown" in a bare copy."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version


def _lookup() -> str:
    try:
        return version("dc-overview")
    except PackageNotFoundError:
        return "unknown"


VERSION = _lookup()
