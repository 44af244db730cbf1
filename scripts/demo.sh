#!/usr/bin/env bash
# make demo: the whole auditpipe pipeline on one machine, with no set-up: `auditpipectl demo`.
#
# It runs teleport-sim (a simulated Teleport audit log over mutual TLS, three days of history
# plus live events), an embedded NATS JetStream, Redis (REDIS_ADDR, else a redis-server it
# starts), one ingest, two shippers, a local Fluentd-compatible receiver and the admin API, all
# in one process, and prints what arrives (counts per type, throughput, lag) until DEMO_SECONDS
# have passed or Ctrl-C; then it stops everything cleanly and removes its files.
#
#   DEMO_SECONDS   how long it runs (default 60; 0 runs until Ctrl-C)
#   DEMO_EVENTS    historical events in the simulated log (default 20000)
#   DEMO_RATE      live events per second (default 20)
#   DEMO_SHIPPERS  shipper replicas (default 2)
#   DEMO_LISTEN    the admin API's address (default 127.0.0.1:8080; a free port if taken)
#   REDIS_ADDR     a Redis to use instead of starting one (the demo's keys are deleted after)
set -euo pipefail
cd "$(dirname "$0")/.."

args=(demo --duration "${DEMO_SECONDS:-60}s")
[ -n "${DEMO_EVENTS:-}" ] && args+=(--events "$DEMO_EVENTS")
[ -n "${DEMO_RATE:-}" ] && args+=(--rate "$DEMO_RATE")
[ -n "${DEMO_SHIPPERS:-}" ] && args+=(--shippers "$DEMO_SHIPPERS")
[ -n "${DEMO_LISTEN:-}" ] && args+=(--listen "$DEMO_LISTEN")
[ -n "${REDIS_ADDR:-}" ] && args+=(--redis-addr "$REDIS_ADDR")

# go run passes Ctrl-C on to the demo, which stops gracefully.
exec "${GO:-go}" run ./services/admin/cmd/auditpipectl "${args[@]}"
