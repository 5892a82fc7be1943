#!/usr/bin/env bash
# Instructions per span on the application's thread, counted by valgrind (deterministic, unlike
# time on a shared VM): the raw SDK span, stock tracing-opentelemetry, and telemetry::builder()
# with and without redaction, as in `cargo bench --bench init` (span group). The batch
# exporter's thread is left out, as in the criterion bench (its share depends on how the queue
# fills under valgrind's thread serialisation). Prints instructions per span and the ratio to
# raw. Needs valgrind (apt-get install -y valgrind). Usage: benches/span-icount.sh [N]
set -euo pipefail
cd "$(dirname "$0")/.."
N="${1:-20000}"
command -v valgrind >/dev/null || { echo "valgrind is not installed: apt-get install -y valgrind" >&2; exit 1; }
cargo build --release -q -p telemetry-benches --bin span_icount
BIN="$(pwd)/${CARGO_TARGET_DIR:-target}/release/span_icount"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
# Instructions of the main thread (callgrind's per-thread file -01) for `variant n`.
count() {
  rm -f "$WORK"/cg.out*
  valgrind --tool=callgrind --separate-threads=yes --callgrind-out-file="$WORK/cg.out" \
    "$BIN" "$1" "$2" >/dev/null 2>&1
  awk '/^totals:/ {print $2}' "$WORK/cg.out-01"
}
raw=""
printf '%-30s %12s %8s\n' variant instr/span "vs raw"
for v in raw raw-in-span stock span-layer-alone telemetry telemetry-without-redaction; do
  per=$(( ($(count "$v" "$N") - $(count "$v" 0)) / N ))
  [[ -z "$raw" ]] && raw=$per
  printf '%-30s %12d %7.2fx\n' "$v" "$per" "$(echo "$per / $raw" | bc -l)"
done
