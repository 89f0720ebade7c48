#!/usr/bin/env bash
# The system packages the queue tier's tests, demo and benchmark need: Debian's redis-server (they
# start their own servers on free loopback ports with their own data directories; the system
# service is never used) and openssl (the TLS test makes a self-signed certificate). Idempotent:
# installs only what is missing, and runs `apt-get update` only then.
set -euo pipefail

missing=()
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
if [[ ${#missing[@]} -eq 0 ]]; then
  exit 0
fi
if [[ $(id -u) -ne 0 ]]; then
  echo "redis-deps: ${missing[*]} missing; run this script as root (it uses apt-get)" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# The package starts (or enables) the system service where an init system runs; ours never use it.
if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet redis-server 2>/dev/null; then
  systemctl stop redis-server || true
fi
redis-server --version
