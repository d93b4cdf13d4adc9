#!/usr/bin/env bash
# Installs what the test suite needs on a fresh Debian machine: redis-server, nginx and
# chromium from apt (only when missing), and the e2e suite's npm packages.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
command -v nginx >/dev/null 2>&1 || need+=(nginx-light)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
if [ ${#need[@]} -gt 0 ]; then
  echo "install-deps: apt-get install ${need[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi

# Every test suite with a package.json gets its npm packages (exact versions from its lockfile).
for pkg in test/*/package.json; do
  [ -f "$pkg" ] || continue
  dir=$(dirname "$pkg")
  if [ -f "$dir/package-lock.json" ]; then
    (cd "$dir" && npm ci --no-audit --no-fund --silent)
  else
    (cd "$dir" && npm install --no-audit --no-fund --silent)
  fi
done
