#!/usr/bin/env bash
# Set up everything the tests need on a fresh machine, then lint and run the whole test suite
# (unit tests and integration tests against real Prometheus, node_exporter, PostgreSQL, gunicorn
# and headless Chromium). Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh --test
.venv/bin/ruff check src tests benchmarks
.venv/bin/ruff format --check src tests benchmarks
exec .venv/bin/pytest "$@"
