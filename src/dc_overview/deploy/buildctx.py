"""Build contexts assembled from the installed package, so images build without a checkout."""

from __future__ import annotations

import importlib.util
import shutil
from importlib import metadata
from pathlib import Path

from dc_overview import __version__
from dc_overview.fsutil import atomic_write
from dc_overview.templating import render

DOCKERFILES = Path(__file__).parent / "docker"
PACKAGES = ("dc_overview", "cryptolabs_proxy")
IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc")


def _runtime_requirements() -> list[str]:
    """The installed distribution's dependencies, without extras (tests, postgres)."""
    requires = metadata.requires("dc-overview") or []
    return [r for r in requires if "extra ==" not in r]


def _console_scripts() -> dict[str, str]:
    entry_points = metadata.distribution("dc-overview").entry_points
    return {ep.name: ep.value for ep in entry_points if ep.group == "console_scripts"}


def source_tree(dest: Path) -> Path:
    """pyproject.toml, README.md and src/ with the installed packages: what a checkout has."""
    for package in PACKAGES:
        spec = importlib.util.find_spec(package)
        if spec is None or spec.origin is None:
            continue
        shutil.copytree(Path(spec.origin).parent, dest / "src" / package, ignore=IGNORE)
    pyproject = render(
        "docker/pyproject.toml.j2",
        version=__version__,
        requirements=_runtime_requirements(),
        scripts=_console_scripts(),
    )
    atomic_write(dest / "pyproject.toml", pyproject)
    atomic_write(dest / "README.md", "DC Overview, built by `dc-overview images build`.\n")
    return dest


def dockerfile(name: str) -> Path:
    """The Dockerfile of an image; the proxy's ships inside its own package."""
    if name == "proxy":
        spec = importlib.util.find_spec("cryptolabs_proxy")
        if spec is None or spec.origin is None:
            raise FileNotFoundError("the cryptolabs_proxy package is not installed")
        return Path(spec.origin).parent / "image.Dockerfile"
    path = DOCKERFILES / f"{name}.Dockerfile"
    if not path.exists():
        raise FileNotFoundError(f"no Dockerfile for {name!r} in {DOCKERFILES}")
    return path
