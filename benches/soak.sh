#!/usr/bin/env bash
# Soak benchmark (hardening issue): spans at a steady rate for a long time while the collector
# flaps. Starts rotel (pip install rotel==0.0.1a15, blackhole exporter) on free loopback ports,
# runs the soak binary (release) against it, stops rotel and starts it again on the same ports
# every --flap seconds, then reports RSS over time, drops and failures, whether export resumed
# after every outage, and whether every span is accounted for after shutdown. Exits non-zero if
# export did not resume after an outage or a span is unaccounted for.
#
#   benches/soak.sh [--seconds 600] [--rate 10000] [--flap 30]
set -euo pipefail
cd "$(dirname "$0")/.."

SECONDS_TO_RUN=600 RATE=10000 FLAP=30
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) SECONDS_TO_RUN="$2"; shift 2 ;;
    --rate) RATE="$2"; shift 2 ;;
    --flap) FLAP="$2"; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done

ROTEL="${ROTEL_AGENT:-$(command -v rotel-agent || python3 -c 'import os, rotel; print(os.path.join(os.path.dirname(rotel.__file__), "rotel-agent"))')}"
[ -x "$ROTEL" ] || { echo "rotel-agent not found: pip install rotel==0.0.1a15" >&2; exit 1; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
HTTP_PORT=$(free_port); GRPC_PORT=$(free_port)
DIR=$(mktemp -d)
ROTEL_PID="" SOAK_PID=""

cargo build --release --quiet -p contextd-demo --bin soak

start_rotel() {
  "$ROTEL" start --otlp-http-endpoint "127.0.0.1:$HTTP_PORT" --otlp-grpc-endpoint "127.0.0.1:$GRPC_PORT" \
    --exporter blackhole --pid-file "$DIR/rotel.pid" --log-file "$DIR/rotel.log" >>"$DIR/rotel.out" 2>&1 &
  ROTEL_PID=$!
  for _ in $(seq 1 100); do
    (echo >"/dev/tcp/127.0.0.1/$HTTP_PORT") 2>/dev/null && return 0
    sleep 0.1
  done
  echo "rotel did not start listening on $HTTP_PORT" >&2
  return 1
}
stop_rotel() {
  if [ -n "$ROTEL_PID" ]; then
    kill "$ROTEL_PID" 2>/dev/null || true
    wait "$ROTEL_PID" 2>/dev/null || true
    ROTEL_PID=""
  fi
}
cleanup() {
  stop_rotel
  [ -n "$SOAK_PID" ] && kill "$SOAK_PID" 2>/dev/null || true
  rm -rf "$DIR"
}
trap cleanup EXIT

start_rotel
target/release/soak --endpoint "http://127.0.0.1:$HTTP_PORT" --seconds "$SECONDS_TO_RUN" --rate "$RATE" \
  >"$DIR/soak.out" 2>"$DIR/soak.err" &
SOAK_PID=$!
START=$(date +%s.%N)
elapsed() { python3 -c "import sys; print(round($(date +%s.%N) - $START, 1))"; }
echo "up 0" >"$DIR/flaps"
up=1
while kill -0 "$SOAK_PID" 2>/dev/null; do
  # Sleep in short steps so the end of the soak is noticed at once.
  for _ in $(seq 1 $((FLAP * 10))); do
    kill -0 "$SOAK_PID" 2>/dev/null || break 2
    sleep 0.1
  done
  if [ "$up" = 1 ]; then stop_rotel; up=0; echo "down $(elapsed)" >>"$DIR/flaps"
  else start_rotel; up=1; echo "up $(elapsed)" >>"$DIR/flaps"; fi
done
wait "$SOAK_PID"; SOAK_PID=""

python3 - "$DIR/soak.out" "$DIR/flaps" "$DIR/soak.err" <<'PY'
import re, sys
ticks, final, shutdown = [], None, None
for line in open(sys.argv[1]):
    if line.startswith("tick "):
        ticks.append({k: float(v) for k, v in re.findall(r"(\w+)=([\d.]+)", line)})
    elif line.startswith("accounted "):
        final = {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", line)}
    elif line.startswith("shutdown "):
        shutdown = line.strip()
flaps = [(l.split()[0], float(l.split()[1])) for l in open(sys.argv[2])]
warnings = sum(1 for l in open(sys.argv[3]) if "telemetry export failing" in l)
recoveries = sum(1 for l in open(sys.argv[3]) if "telemetry export recovered" in l)
ok = True
print(f"{len(ticks)} s of soak, {len(flaps) - 1} collector flaps, {warnings} failure warnings and {recoveries} recovery lines on stderr")
print("RSS (KiB) every 30 s:", " ".join(str(int(t["rss_kib"])) for t in ticks[::30]))
rss = [t["rss_kib"] for t in ticks]
if rss:
    print(f"RSS min {int(min(rss))} max {int(max(rss))} first {int(rss[0])} last {int(rss[-1])} KiB")
# Export resumes after every outage: within each up window after the first, exported grows.
for i, (state, at) in enumerate(flaps):
    if state != "up" or i == 0:
        continue
    end = flaps[i + 1][1] if i + 1 < len(flaps) else float("inf")
    before = [t["exported"] for t in ticks if t["t"] <= at]
    during = [t["exported"] for t in ticks if at < t["t"] <= end]
    if not during:
        continue
    grew = max(during) > (before[-1] if before else 0)
    print(f"outage ended at {at:.1f} s: exported {'resumed' if grew else 'DID NOT RESUME'} ({int(before[-1] if before else 0)} -> {int(max(during))})")
    ok &= grew
if final is None:
    print("no final accounting line"); sys.exit(1)
print(shutdown)
print(f"final: created {final['created']} exported {final['exported']} failed {final['failed']} dropped {final['dropped']} in flight {final['in_flight']}")
accounted = final["exported"] + final["failed"] + final["dropped"] == final["created"] and final["in_flight"] == 0
print("every span accounted for" if accounted else "SPANS UNACCOUNTED FOR")
ok &= accounted
sys.exit(0 if ok else 1)
PY
