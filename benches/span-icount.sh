#!/usr/bin/env bash
# Instructions per span on the application's thread, counted by valgrind (deterministic, unlike
# time on a shared VM): the raw SDK span (also made current, `raw-in-span`), stock
# tracing-opentelemetry, our span layer alone, and ferrotel::builder() with and without
# redaction, as in `cargo bench --bench init` (span group); then an event inside a span and a
# log record, against the stock layer plus appender (event_in_span and log_record groups). The batch
# exporter's thread is left out, as in the criterion bench (its share depends on how the queue
# fills under valgrind's thread serialisation). Prints instructions per span and the ratio to
# raw. Needs valgrind (apt-get install -y valgrind). Usage: benches/span-icount.sh [N]
set -euo pipefail
cd "$(dirname "$0")/.."
N="${1:-20000}"
command -v valgrind >/dev/null || { echo "valgrind is not installed: apt-get install -y valgrind" >&2; exit 1; }
cargo build --release -q -p ferrotel-benches --bin span_icount
BIN="$(pwd)/${CARGO_TARGET_DIR:-target}/release/span_icount"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
# Instructions of the main thread (callgrind's per-thread file -01) for `variant n`, in the
# mode given by SPAN_ICOUNT_MODE (span, event inside a span, log record).
count() {
  rm -f "$WORK"/cg.out*
  valgrind --tool=callgrind --separate-threads=yes --callgrind-out-file="$WORK/cg.out" \
    "$BIN" "$1" "$2" >/dev/null 2>&1
  awk '/^totals:/ {print $2}' "$WORK/cg.out-01"
}
report() { # mode, first variant is the ratios' base, then the others
  local mode="$1" base=""
  shift
  printf '\n%-30s %12s %8s   (%s)\n' variant instr/op "vs $1" "$mode"
  for v in "$@"; do
    per=$(( ($(SPAN_ICOUNT_MODE=$mode count "$v" "$N") - $(SPAN_ICOUNT_MODE=$mode count "$v" 0)) / N ))
    [[ -z "$base" ]] && base=$per
    printf '%-30s %12d %7.2fx\n' "$v" "$per" "$(echo "$per / $base" | bc -l)"
  done
}
report span raw raw-in-span stock span-layer-alone telemetry telemetry-without-redaction
report event stock telemetry telemetry-without-redaction
report log stock telemetry telemetry-without-redaction
