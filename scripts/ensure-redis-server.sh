#!/usr/bin/env bash
# Makes sure redis-server is on PATH: the tests and the demo start their own on a free port.
# On Debian/Ubuntu as root it installs the package; elsewhere it says how to get one.
set -euo pipefail
if command -v redis-server >/dev/null 2>&1 || [ -n "${REDIS_ADDR:-}" ]; then
  exit 0
fi
if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  echo "redis-server not found: installing it with apt-get"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null
  exit 0
fi
echo "redis-server not found: install it (apt-get install redis-server, brew install redis)" >&2
echo "or set REDIS_ADDR=host:port to use a Redis you run yourself." >&2
exit 1
