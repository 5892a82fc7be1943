#!/usr/bin/env bash
# End-to-end HTTP load comparison on loopback, one run, side by side:
#   axum:  bare | ferrotel-http | axum-tracing-opentelemetry + axum-otel-metrics
#   actix: bare | ferrotel-http | opentelemetry-instrumentation-actix-web
# Instrumented variants export 100%-sampled spans over OTLP/HTTP to a loopback sink.
#
# Needs `wrk` (apt-get install -y wrk). Usage: benches/http-load.sh [DURATION_S] [CONNECTIONS] [ROUNDS]
# Prints req/s per variant (the median over ROUNDS, default 1; the variants of a framework are
# interleaved round by round so that a change in background load hits all of them) and the
# ratio to the bare server of the same framework and to the peers.
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION="${1:-10}"
CONNECTIONS="${2:-64}"
ROUNDS="${3:-1}"
THREADS=2
command -v wrk >/dev/null || { echo "wrk is not installed: apt-get install -y wrk" >&2; exit 1; }

# HTTP_LOAD_SERVER=/path/to/binary skips the build (for a prebuilt binary).
if [[ -z "${HTTP_LOAD_SERVER:-}" ]]; then
  cargo build --release -q -p ferrotel-benches --bin http_load_server
fi
BIN="${HTTP_LOAD_SERVER:-${CARGO_TARGET_DIR:-target}/release/http_load_server}"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

wait_port() {
  for _ in $(seq 1 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.1
  done
  echo "server on port $1 did not start" >&2; return 1
}

SINK_PORT=$(free_port)
"$BIN" receiver "$SINK_PORT" & PIDS+=($!)
wait_port "$SINK_PORT"

declare -A RPS
for framework in axum actix; do
  for round in $(seq 1 "$ROUNDS"); do
    for variant in bare ours peers; do
      port=$(free_port)
      "$BIN" "$framework" "$variant" "$port" "http://127.0.0.1:$SINK_PORT" & pid=$!
      PIDS+=("$pid")
      wait_port "$port"
      # warm-up, then the measured run
      wrk -t"$THREADS" -c"$CONNECTIONS" -d2s "http://127.0.0.1:$port/users/42" >/dev/null
      rps=$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" "http://127.0.0.1:$port/users/42" \
        | awk '/Requests\/sec/ {print $2}')
      RPS["$framework/$variant"]+="$rps "
      kill "$pid"; wait "$pid" 2>/dev/null || true
    done
  done
done

median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

printf '%-8s %-8s %12s %10s %10s   %s\n' framework variant "req/s" "vs bare" "vs peers" "rounds"
for framework in axum actix; do
  bare=$(median <<<"${RPS["$framework/bare"]}")
  peers=$(median <<<"${RPS["$framework/peers"]}")
  for variant in bare ours peers; do
    rps=$(median <<<"${RPS["$framework/$variant"]}")
    printf '%-8s %-8s %12.0f %10s %10s   %s\n' "$framework" "$variant" "$rps" \
      "$(awk -v a="$rps" -v b="$bare" 'BEGIN { printf "%.3fx", a / b }')" \
      "$(awk -v a="$rps" -v b="$peers" 'BEGIN { printf "%.3fx", a / b }')" \
      "${RPS["$framework/$variant"]}"
  done
done
