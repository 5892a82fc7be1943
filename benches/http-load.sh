#!/usr/bin/env bash
# End-to-end HTTP load comparison on loopback, in one run, side by side, CPU per request counted
# over every thread of the server process:
#   axum:  bare | ours (ferrotel) | contrib (opentelemetry-instrumentation-tower)
#          | davidb (axum-tracing-opentelemetry + axum-otel-metrics)
#   actix: bare | ours (ferrotel) | contrib (opentelemetry-instrumentation-actix-web)
# The server runs one worker thread pinned to CPU 0; wrk (1 thread) and the collector (rotel,
# discarding what it receives) are pinned to CPU 1. Instrumented variants export 100%-sampled
# spans and their metrics over OTLP/HTTP to rotel.
#
# For each mode: req/s, and the server's CPU time per request of each thread (from
# /proc/PID/task/*/schedstat, nanosecond run time, before and after the measured run, the
# warm-up excluded), then all threads together and what the instrumentation adds to `bare`.
# Modes alternate within each round; figures are medians over the rounds.
#
# Needs wrk, taskset and rotel-agent (pip install rotel==0.0.1a15; ROTEL_AGENT=path overrides).
# Usage: benches/http-load.sh [DURATION_S=10] [CONNECTIONS=32] [ROUNDS=3] [FRAMEWORKS="axum actix"]
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION="${1:-10}"
CONNECTIONS="${2:-32}"
ROUNDS="${3:-3}"
FRAMEWORKS="${4:-axum actix}"
command -v wrk >/dev/null || { echo "wrk is not installed: apt-get install -y wrk" >&2; exit 1; }
command -v taskset >/dev/null || { echo "taskset is not installed: apt-get install -y util-linux" >&2; exit 1; }
ROTEL="${ROTEL_AGENT:-$(python3 -c 'import os, rotel; print(os.path.join(os.path.dirname(rotel.__file__), "rotel-agent"))' 2>/dev/null || true)}"
[[ -x "$ROTEL" ]] || { echo "rotel-agent not found: pip install rotel==0.0.1a15 (or set ROTEL_AGENT)" >&2; exit 1; }
NCPU=$(nproc)
SERVER_CPU=0
OTHER_CPU=$(( NCPU > 1 ? 1 : 0 ))

# HTTP_LOAD_SERVER=/path/to/binary skips the build (for a prebuilt binary).
if [[ -z "${HTTP_LOAD_SERVER:-}" ]]; then
  cargo build --release -q -p ferrotel-benches --bin http_load_server
fi
BIN="${HTTP_LOAD_SERVER:-${CARGO_TARGET_DIR:-target}/release/http_load_server}"
WORK="$(mktemp -d)"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT

wait_port() {
  for _ in $(seq 1 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.1
  done
  echo "nothing listens on port $1" >&2; return 1
}

# "thread-name run-ns" for each thread of PID (names made unique with their task id order).
snapshot() {
  local pid=$1
  for task in /proc/"$pid"/task/*; do
    [[ -r "$task/schedstat" ]] || continue
    printf '%s %s %s\n' "${task##*/}" "$(tr ' ' '_' <"$task/comm")" "$(cut -d' ' -f1 "$task/schedstat")"
  done
}

ROTEL_HTTP=$(free_port)
ROTEL_GRPC=$(free_port)
taskset -c "$OTHER_CPU" "$ROTEL" start --otlp-http-endpoint "127.0.0.1:$ROTEL_HTTP" \
  --otlp-grpc-endpoint "127.0.0.1:$ROTEL_GRPC" --exporter blackhole \
  --pid-file "$WORK/rotel.pid" --log-file "$WORK/rotel.log" >"$WORK/rotel.out" 2>&1 & PIDS+=($!)
wait_port "$ROTEL_HTTP"
ENDPOINT="http://127.0.0.1:$ROTEL_HTTP"

variants_of() { if [[ $1 == axum ]]; then echo "bare ours contrib davidb"; else echo "bare ours contrib"; fi; }

# One measured run of FRAMEWORK VARIANT ROUND: appends "framework variant round rps total_us
# thread:us ..." to $WORK/results.
measure() {
  local framework=$1 variant=$2 round=$3 port pid out requests
  port=$(free_port)
  taskset -c "$SERVER_CPU" "$BIN" "$framework" "$variant" "$port" "$ENDPOINT" >/dev/null 2>"$WORK/server.err" & pid=$!
  PIDS+=("$pid")
  wait_port "$port"
  taskset -c "$OTHER_CPU" wrk -t1 -c"$CONNECTIONS" -d2s "http://127.0.0.1:$port/users/42" >/dev/null
  snapshot "$pid" >"$WORK/before"
  out=$(taskset -c "$OTHER_CPU" wrk -t1 -c"$CONNECTIONS" -d"${DURATION}s" "http://127.0.0.1:$port/users/42")
  snapshot "$pid" >"$WORK/after"
  kill -TERM "$pid"
  for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  if grep -qi "Socket errors" <<<"$out"; then
    echo "$framework/$variant: wrk saw socket errors:" >&2; echo "$out" >&2
  fi
  if grep -qi "non-2xx" <<<"$out"; then
    echo "$framework/$variant: the server answered errors:" >&2; echo "$out" >&2; exit 1
  fi
  requests=$(awk '/requests in/ {print $1}' <<<"$out")
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  awk -v fw="$framework" -v v="$variant" -v r="$round" -v req="$requests" -v rps="$rps" '
    FNR == NR { before[$1] = $3; next }
    {
      ns = $3 - ($1 in before ? before[$1] : 0)
      name = $2
      sub(/-[0-9]+$/, "", name)
      per[name] += ns; total += ns
    }
    END {
      printf "%s %s %s %.0f %.3f", fw, v, r, rps, total / req / 1000
      for (n in per) if (per[n] / req / 1000 >= 0.005) printf " %s=%.3f", n, per[n] / req / 1000
      printf "\n"
    }' "$WORK/before" "$WORK/after" >>"$WORK/results"
}

for framework in $FRAMEWORKS; do
  for round in $(seq 1 "$ROUNDS"); do
    for variant in $(variants_of "$framework"); do
      measure "$framework" "$variant" "$round"
    done
  done
done

echo "Per-round results (req/s, CPU us per request of all threads, then per thread):"
cat "$WORK/results"
echo
python3 - "$WORK/results" <<'EOF'
import statistics, sys
from collections import defaultdict
rows = defaultdict(list)
for line in open(sys.argv[1]):
    f = line.split()
    threads = dict(kv.split("=") for kv in f[5:])
    rows[(f[0], f[1])].append((float(f[3]), float(f[4]), {k: float(v) for k, v in threads.items()}))
med = statistics.median
frameworks = []
for fw, _ in rows:
    if fw not in frameworks:
        frameworks.append(fw)
for fw in frameworks:
    variants = [v for f, v in rows if f == fw]
    bare_cpu = med(r[1] for r in rows[(fw, "bare")])
    bare_rps = med(r[0] for r in rows[(fw, "bare")])
    contrib = rows.get((fw, "contrib"))
    contrib_added = med(r[1] for r in contrib) - bare_cpu if contrib else None
    contrib_rps = med(r[0] for r in contrib) if contrib else None
    print(f"{fw}: median of {len(rows[(fw, 'bare')])} rounds")
    print(f"  {'variant':8} {'req/s':>9} {'vs contrib':>10} {'CPU us/req':>10} {'added':>7} {'vs contrib':>10}   per thread (us/req)")
    for v in variants:
        rps = med(r[0] for r in rows[(fw, v)])
        cpu = med(r[1] for r in rows[(fw, v)])
        added = cpu - bare_cpu
        names = sorted({n for r in rows[(fw, v)] for n in r[2]})
        per = ", ".join(f"{n} {med(r[2].get(n, 0.0) for r in rows[(fw, v)]):.2f}" for n in names)
        rps_ratio = f"{rps / contrib_rps:.2f}x" if contrib_rps else "-"
        add_ratio = f"{added / contrib_added:.2f}x" if contrib_added and v != "bare" else "-"
        print(f"  {v:8} {rps:9.0f} {rps_ratio:>10} {cpu:10.2f} {added:+7.2f} {add_ratio:>10}   {per}")
EOF
