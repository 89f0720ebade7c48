#!/usr/bin/env bash
# System packages the tests need that npm cannot install, from Debian:
# - chromium: the browser test of the demo page drives it (__test__/demo-browser.test.js; browsers
#   cannot be downloaded here, so playwright-core drives this one);
# - redis-server: the queue tier's tests, demo and benchmark start their own servers on free
#   loopback ports with their own data directories (the system service is never used);
# - openssl: the queue tier's TLS test makes a self-signed certificate.
# Run before `npm test` (its pretest) and by .ci/run. Idempotent: when everything is present it only
# checks and exits; it refreshes apt's lists only when it has something to install.
set -euo pipefail

missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
command -v openssl >/dev/null 2>&1 || missing+=(openssl)

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "system-deps: ${missing[*]} missing; install it with: sudo bash scripts/system-deps.sh" >&2
  exit 1
fi

echo "system-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"
# The redis package starts (or enables) the system service where an init system runs; ours never
# use it.
if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet redis-server 2>/dev/null; then
  systemctl stop redis-server || true
fi
