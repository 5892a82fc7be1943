#!/usr/bin/env bash
# Instructions per span on the application's thread... and the batch exporter thread, counted by
# valgrind (deterministic, unlike time on a shared VM): the raw SDK span, stock
# tracing-opentelemetry, and telemetry::builder() with and without redaction, as in
# `cargo bench --bench init` (span group). Prints instructions per span and the ratio to raw.
# Needs valgrind (apt-get install -y valgrind). Usage: benches/span-icount.sh [N]
set -euo pipefail
cd "$(dirname "$0")/.."
N="${1:-20000}"
command -v valgrind >/dev/null || { echo "valgrind is not installed: apt-get install -y valgrind" >&2; exit 1; }
cargo build --release -q -p telemetry-benches --bin span_icount
BIN="${CARGO_TARGET_DIR:-target}/release/span_icount"
count() { valgrind --tool=cachegrind --cache-sim=no --cachegrind-out-file=/dev/null "$BIN" "$1" "$2" 2>&1 \
  | awk '/I *refs/ {gsub(",","",$4); print $4}'; }
raw=""
printf '%-30s %12s %8s\n' variant instr/span "vs raw"
for v in raw stock telemetry telemetry-without-redaction; do
  per=$(( ($(count "$v" "$N") - $(count "$v" 0)) / N ))
  [[ -z "$raw" ]] && raw=$per
  printf '%-30s %12d %7.2fx\n' "$v" "$per" "$(echo "$per / $raw" | bc -l)"
done
