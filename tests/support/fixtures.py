"""Where the shared, real captured fixtures live (never copied into the repository).

Next to the checkout (`../shared/fixtures`) in a work tree; CI may clone elsewhere, so the
well-known location and an override are tried too.
"""

from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
WELL_KNOWN = Path("/work/shared/fixtures")


def shared_fixtures() -> Path:
    """The first folder that exists; else the first candidate (tests then fail naming it)."""
    override = os.environ.get("DC_OVERVIEW_SHARED_FIXTURES")
    candidates = [Path(override)] if override else []
    candidates += [REPO.parent / "shared" / "fixtures", WELL_KNOWN]
    return next((path for path in candidates if path.is_dir()), candidates[0])
