#!/usr/bin/env bash
# make demo: runs what exists of the pipeline, on one machine, with no set-up.
#
# So far that is teleport-sim, the Teleport Auth Service simulator. The ingest and shipper
# binaries exist, but the verb that wires every service together on one machine is
# `auditpipectl demo`, which lands with the admin service (issue 6) and replaces this script.
# It serves a generated audit log over mutual TLS with live events arriving, then prints what
# it served. DEMO_SECONDS (default 10) sets how long it runs; Ctrl-C stops it early.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${DEMO_SECONDS:-10}
make --no-print-directory build >/dev/null
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "auditpipe demo — the one-command pipeline demo (auditpipectl demo) lands with the admin service;"
echo "running teleport-sim, the Teleport audit-log simulator they will read from, for ${seconds}s."
echo

bin/teleport-sim --out "$work/creds" --listen 127.0.0.1:0 --count 5000 --live-rate 20 \
	--ready-file "$work/ready.json" --manifest "$work/manifest.jsonl" &
sim=$!
trap 'kill -TERM $sim 2>/dev/null || true; wait $sim 2>/dev/null || true; rm -rf "$work"' EXIT
trap 'echo; echo "stopped"; exit 130' INT TERM

for _ in $(seq 100); do
	[ -s "$work/ready.json" ] && break
	kill -0 $sim 2>/dev/null || { echo "teleport-sim exited early" >&2; exit 1; }
	sleep 0.1
done
[ -s "$work/ready.json" ] || { echo "teleport-sim did not become ready within 10s" >&2; exit 1; }
echo "ready: $(cat "$work/ready.json")"
echo

sleep "$seconds" & wait $! || true # wait, unlike sleep, lets a signal run the trap at once
kill -TERM $sim
wait $sim || true

total=$(wc -l <"$work/manifest.jsonl")
echo
echo "teleport-sim served $total events (5000 generated up front, the rest live at 20/s):"
grep -o '"type":"[^"]*","time":"[^"]*","kind":"[a-z]*"' "$work/manifest.jsonl" |
	sed -E 's/"type":"([^"]*)".*"kind":"([a-z]*)"/\2 \1/' | sort | uniq -c | sort -rn | head -25
