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

# Alertmanager >= 0.26 (bookworm has 0.25, which cannot read *_file secrets): amtool and the
# daemon unpacked from Debian trixie's package into /usr/local/bin, apt's own setup untouched.
install_alertmanager() {
  local tmp opts
  tmp=$(mktemp -d)
  echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian trixie main" >"$tmp/sources.list"
  mkdir -p "$tmp/lists/partial"
  opts=(-o "Dir::Etc::sourcelist=$tmp/sources.list" -o "Dir::Etc::sourceparts=-"
        -o "Dir::State::Lists=$tmp/lists" -o APT::Sandbox::User=root)
  apt-get "${opts[@]}" update -qq
  (cd "$tmp" && apt-get "${opts[@]}" download prometheus-alertmanager >/dev/null)
  dpkg-deb -x "$tmp"/prometheus-alertmanager_*.deb "$tmp/x"
  install -m 0755 "$tmp/x/usr/bin/amtool" "$tmp/x/usr/bin/prometheus-alertmanager" /usr/local/bin/
  rm -rf "$tmp"
}
if [[ "${1:-}" == "--test" ]] && ! { command -v amtool >/dev/null 2>&1 \
    && amtool --version 2>&1 | grep -Eq 'version 0\.(2[6-9]|[3-9][0-9])\.'; }; then
  echo "Installing Alertmanager >= 0.26 (amtool) from Debian trixie's package"
  install_alertmanager
fi

if [[ ! -x .venv/bin/python ]]; then
  python3 -m venv .venv
fi
.venv/bin/pip install -q --disable-pip-version-check -e ".${extras}"
