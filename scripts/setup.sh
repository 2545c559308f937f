#!/usr/bin/env bash
# Installs everything this project needs on a fresh Debian machine (root, Python 3.11, package registries
# reachable). Idempotent: a second run only checks. Used by both README commands.
#   bash scripts/setup.sh          python venv + requirements (enough to build and run the dashboard)
#   bash scripts/setup.sh --test   also Debian's chromium for the browser tests (never `playwright install`)
set -euo pipefail
cd "$(dirname "$0")/.."

want_browser=0
[ "${1:-}" = "--test" ] && want_browser=1

apt_pkgs=()
# Debian's python3 ships venv without ensurepip until python3-venv is installed.
if ! python3 -c "import ensurepip, venv" >/dev/null 2>&1; then
  apt_pkgs+=(python3-venv)
fi
if [ "$want_browser" = 1 ] && [ ! -x /usr/bin/chromium ]; then
  apt_pkgs+=(chromium fonts-liberation)
fi
if [ ${#apt_pkgs[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "setup: need root to apt-get install ${apt_pkgs[*]}" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${apt_pkgs[@]}" >/dev/null
fi

if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check -r requirements.txt
echo "setup: ready (.venv)"
