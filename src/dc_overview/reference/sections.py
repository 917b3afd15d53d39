"""Every generated section of docs/index.md by block name, and refreshing the file."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from dc_overview.reference.api import render_api
from dc_overview.reference.blocks import read_blocks, replace_blocks
from dc_overview.reference.catalog import render_catalog
from dc_overview.reference.config import render_config
from dc_overview.reference.gpu_metrics import render_gpu_metrics
from dc_overview.reference.vastai_metrics import render_vastai_metrics

DOCS_FILE = Path("docs/index.md")
REFRESH_COMMAND = "python -m dc_overview.reference --write"
SECTIONS: dict[str, Callable[[], str]] = {
    "config": render_config,
    "api": render_api,
    "exporters": render_catalog,
    "dc-exporter-metrics": render_gpu_metrics,
    "vastai-exporter-metrics": render_vastai_metrics,
}


def render_sections() -> dict[str, str]:
    """Each section's current text, generated from the code."""
    return {name: render() for name, render in SECTIONS.items()}


def stale_sections(text: str) -> list[str]:
    """Names of the sections whose text in `text` differs from the code (or are missing)."""
    found = read_blocks(text)
    return [name for name, body in render_sections().items() if found.get(name) != body]


def refresh(path: Path = DOCS_FILE) -> list[str]:
    """Rewrite the generated sections of `path`; returns the names that changed."""
    text = path.read_text()
    changed = stale_sections(text)
    if changed:
        path.write_text(replace_blocks(text, render_sections()))
    return changed
