#!/usr/bin/env bash
# Set up and start DC Overview on its embedded defaults: config in /etc/dc-overview, data in
# /var/lib/dc-overview, listening on 127.0.0.1:5001. The first start creates the admin user and
# says where its password is. Extra arguments go to `dc-overview serve` (e.g. --bind).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
exec .venv/bin/dc-overview serve "$@"
