"""Benchmarks: scripts that start the real stack and print figures (they assert no limits)."""
