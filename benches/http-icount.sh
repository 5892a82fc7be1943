#!/usr/bin/env bash
# Instructions per request, per thread, counted by valgrind (deterministic, unlike time on a
# shared VM): the HTTP service called in-process (`http_load_server inprocess`), for each
# framework and variant of benches/http-load.sh. "worker" is the thread that serves the request;
# "others" is every other thread (the batch exporters, which encode each batch as OTLP protobuf
# as the network exporter does, and drop it). Each figure is (run with N requests - run with 0)
# / N; "added" is the difference to `bare`.
#
# Then the exporting threads alone, for the same spans (`http_load_server export`: SDK spans of
# the middleware's shape, exported by our pipeline or by the stock batch processor and
# opentelemetry-otlp exporter): instructions per span of every thread but the one creating them.
#
# N stays below the default queue size (2048): under valgrind the exporting threads may only run
# at shutdown, and spans beyond a full queue are dropped (not exported, so not counted).
#
# Needs valgrind (apt-get install -y valgrind) and rotel-agent (pip install rotel==0.0.1a15). Usage: benches/http-icount.sh [N=2000] [FRAMEWORKS]
set -euo pipefail
cd "$(dirname "$0")/.."
N="${1:-2000}"
(( N <= 2000 )) || { echo "N must be at most 2000 (see above)" >&2; exit 1; }
FRAMEWORKS="${2:-axum actix}"
command -v valgrind >/dev/null || { echo "valgrind is not installed: apt-get install -y valgrind" >&2; exit 1; }
if [[ -z "${HTTP_LOAD_SERVER:-}" ]]; then
  cargo build --release -q -p ferrotel-benches --bin http_load_server
fi
BIN="$(realpath "${HTTP_LOAD_SERVER:-${CARGO_TARGET_DIR:-target}/release/http_load_server}")"
WORK="$(mktemp -d)"
ROTEL="${ROTEL_AGENT:-$(python3 -c 'import os, rotel; print(os.path.join(os.path.dirname(rotel.__file__), "rotel-agent"))' 2>/dev/null || true)}"
[[ -x "$ROTEL" ]] || { echo "rotel-agent not found: pip install rotel==0.0.1a15 (or set ROTEL_AGENT)" >&2; exit 1; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
ROTEL_HTTP=$(free_port)
"$ROTEL" start --otlp-http-endpoint "127.0.0.1:$ROTEL_HTTP" --otlp-grpc-endpoint "127.0.0.1:$(free_port)" \
  --exporter blackhole --pid-file "$WORK/rotel.pid" --log-file "$WORK/rotel.log" >"$WORK/rotel.out" 2>&1 &
ROTEL_PID=$!
trap 'kill "$ROTEL_PID" 2>/dev/null; rm -rf "$WORK"' EXIT
for _ in $(seq 1 100); do (exec 3<>"/dev/tcp/127.0.0.1/$ROTEL_HTTP") 2>/dev/null && break; sleep 0.1; done
ENDPOINT="http://127.0.0.1:$ROTEL_HTTP"

# "worker others" instruction totals of one run.
count() {
  rm -f "$WORK"/cg.out*
  valgrind --tool=callgrind --separate-threads=yes --callgrind-out-file="$WORK/cg.out" \
    "$BIN" inprocess "$1" "$2" "$3" "$ENDPOINT" >/dev/null 2>"$WORK/err" || { cat "$WORK/err" >&2; return 1; }
  local worker others=0 f
  worker=$(awk '/^totals:/ {print $2}' "$WORK/cg.out-01")
  for f in "$WORK"/cg.out-*; do
    [[ $f == "$WORK/cg.out-01" ]] && continue
    others=$(( others + $(awk '/^totals:/ {print $2}' "$f") ))
  done
  echo "$worker $others"
}

for framework in $FRAMEWORKS; do
  if [[ $framework == axum ]]; then variants="bare ours ours-metrics contrib davidb"; else variants="bare ours ours-metrics contrib"; fi
  printf '\n%-6s %-13s %10s %10s %10s %10s\n' "$framework" variant worker others total added
  bare_total=""
  for v in $variants; do
    read -r w1 o1 < <(count "$framework" "$v" "$N")
    read -r w0 o0 < <(count "$framework" "$v" 0)
    w=$(( (w1 - w0) / N )); o=$(( (o1 - o0) / N )); t=$(( w + o ))
    [[ -z "$bare_total" ]] && bare_total=$t
    printf '%-6s %-13s %10d %10d %10d %+10d\n' "$framework" "$v" "$w" "$o" "$t" "$(( t - bare_total ))"
  done
done

# "others" instructions per span of `export EXPORTER N`.
export_count() {
  rm -f "$WORK"/cg.out*
  valgrind --tool=callgrind --separate-threads=yes --callgrind-out-file="$WORK/cg.out" \
    "$BIN" export "$1" "$2" "$ENDPOINT" >/dev/null 2>"$WORK/err" || { cat "$WORK/err" >&2; return 1; }
  local others=0 f
  for f in "$WORK"/cg.out-*; do
    [[ $f == "$WORK/cg.out-01" ]] && continue
    others=$(( others + $(awk '/^totals:/ {print $2}' "$f") ))
  done
  echo "$others"
}
printf '\n%-16s %14s %9s\n' exporter "instr/span" "vs stock"
stock=$(( ($(export_count stock "$N") - $(export_count stock 0)) / N ))
for e in stock ours ours-unredacted; do
  if [[ $e == stock ]]; then per=$stock; else per=$(( ($(export_count "$e" "$N") - $(export_count "$e" 0)) / N )); fi
  printf '%-16s %14d %8.2fx\n' "$e" "$per" "$(echo "$per / $stock" | bc -l)"
done
