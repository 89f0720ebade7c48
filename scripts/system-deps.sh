#!/usr/bin/env bash
# System packages the tests need that npm cannot install: Debian's Chromium, which the browser test
# of the demo page drives (__test__/demo-browser.test.js; browsers cannot be downloaded here, so
# playwright-core drives this one). Idempotent: when everything is present it only checks and exits;
# it refreshes apt's lists only when it has something to install.
set -euo pipefail

missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)

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
