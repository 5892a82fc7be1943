#!/usr/bin/env bash
# Sustained span export to a real collector on loopback (issue 8 benchmark).
# Starts rotel (pip install rotel==0.0.1a15) on free loopback ports with the blackhole exporter
# (rotel receives, decodes and batches; nothing is forwarded), runs the export_throughput
# binary (release) against it, then against a closed port (collector down), and stops rotel.
#
#   benches/export-throughput.sh [--seconds 10] [--threads 2] [--rate 100000]
set -euo pipefail
cd "$(dirname "$0")/.."

ROTEL="${ROTEL_AGENT:-$(command -v rotel-agent || python3 -c 'import os, rotel; print(os.path.join(os.path.dirname(rotel.__file__), "rotel-agent"))')}"
[ -x "$ROTEL" ] || { echo "rotel-agent not found: pip install rotel==0.0.1a15" >&2; exit 1; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
HTTP_PORT=$(free_port); GRPC_PORT=$(free_port); DOWN_PORT=$(free_port)
DIR=$(mktemp -d)

cargo build --release --quiet -p contextd-demo --bin export_throughput

"$ROTEL" start --otlp-http-endpoint "127.0.0.1:$HTTP_PORT" --otlp-grpc-endpoint "127.0.0.1:$GRPC_PORT" \
  --exporter blackhole --pid-file "$DIR/rotel.pid" --log-file "$DIR/rotel.log" >"$DIR/out.log" 2>&1 &
ROTEL_PID=$!
trap 'kill "$ROTEL_PID" 2>/dev/null || true; wait "$ROTEL_PID" 2>/dev/null || true; rm -rf "$DIR"' EXIT
for _ in $(seq 1 100); do
  (echo >"/dev/tcp/127.0.0.1/$HTTP_PORT") 2>/dev/null && break
  sleep 0.1
done

target/release/export_throughput --endpoint "http://127.0.0.1:$HTTP_PORT" \
  --down-endpoint "http://127.0.0.1:$DOWN_PORT" "$@" &
BENCH_PID=$!
# rotel's own memory while it ingests, for the record.
sleep 3; echo "rotel RSS: $(grep VmRSS /proc/$ROTEL_PID/status | awk '{print $2}') KiB"
wait "$BENCH_PID"
