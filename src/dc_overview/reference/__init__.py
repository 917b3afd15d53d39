"""Reference sections of docs/index.md generated from the code: config keys, API, exporters.

Refresh them with `python -m dc_overview.reference --write` (see `__main__`).
"""
