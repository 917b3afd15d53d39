"""`python -m dc_overview.reference [--write] [FILE]`: check or refresh docs/index.md."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from dc_overview.reference.blocks import MissingBlock
from dc_overview.reference.sections import DOCS_FILE, REFRESH_COMMAND, refresh, stale_sections


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dc_overview.reference", description=__doc__)
    parser.add_argument("file", nargs="?", type=Path, default=DOCS_FILE)
    parser.add_argument("--write", action="store_true", help="Rewrite the generated sections.")
    args = parser.parse_args(argv)
    if args.write:
        try:
            changed = refresh(args.file)
        except MissingBlock as exc:
            print(f"{args.file}: {exc}", file=sys.stderr)
            return 2
        print(f"{args.file}: refreshed {', '.join(changed) or 'nothing (up to date)'}")
        return 0
    stale = stale_sections(args.file.read_text())
    if stale:
        print(f"{args.file}: out of date: {', '.join(stale)}; run `{REFRESH_COMMAND}`")
        return 1
    print(f"{args.file}: up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())
