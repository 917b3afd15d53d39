#!/usr/bin/env bash
# Installs what DC Overview needs on a fresh Debian/Ubuntu machine: the Python package in .venv,
# and with --test the real components the tests start (Prometheus, node_exporter, PostgreSQL,
# Chromium, nginx, VictoriaMetrics, the Docker engine and debootstrap for local images).
# Safe to run again: it installs only what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

RUNTIME_PKGS=(python3-venv openssh-client docker.io debootstrap)
TEST_PKGS=(prometheus prometheus-node-exporter postgresql chromium chromium-driver nginx
           victoria-metrics)

packages=("${RUNTIME_PKGS[@]}")
extras=""
if [[ "${1:-}" == "--test" ]]; then
  packages+=("${TEST_PKGS[@]}")
  extras="[test]"
fi

missing=()
for pkg in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})); then
  echo "Installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [[ ! -x .venv/bin/python ]]; then
  python3 -m venv .venv
fi
.venv/bin/pip install -q --disable-pip-version-check -e ".${extras}"
