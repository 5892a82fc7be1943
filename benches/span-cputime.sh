#!/usr/bin/env bash
# Thread CPU time per span on the application's thread (raw SDK, stock tracing-opentelemetry,
# telemetry with and without redaction), ROUNDS interleaved runs of N spans each; prints the
# minimum and the median per variant and the ratios of the minima to raw. Noise on a shared VM
# only adds time, so the minimum is the steadiest figure. Usage: benches/span-cputime.sh [N] [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/.."
N="${1:-300000}"
ROUNDS="${2:-7}"
cargo build --release -q -p ferrotel-benches --bin span_icount
BIN="${CARGO_TARGET_DIR:-target}/release/span_icount"
VARIANTS=(raw raw-in-span stock span-layer-alone telemetry telemetry-without-redaction)
declare -A RUNS
for _ in $(seq 1 "$ROUNDS"); do
  for v in "${VARIANTS[@]}"; do
    ns=$("$BIN" "$v" "$N" 2>&1 >/dev/null | awk '/ns\/span/ {print $1}')
    RUNS[$v]+="$ns "
  done
done
python3 - "$N" "${VARIANTS[@]}" <<PY
import statistics, sys
runs = {$(for v in "${VARIANTS[@]}"; do printf '"%s": [%s], ' "$v" "$(echo ${RUNS[$v]} | tr ' ' ',')"; done)}
raw = min(runs["raw"])
print(f"{'variant':30} {'min ns':>8} {'median ns':>10} {'min vs raw':>11}")
for v in sys.argv[2:]:
    r = runs[v]
    print(f"{v:30} {min(r):8.1f} {statistics.median(r):10.1f} {min(r)/raw:10.2f}x")
PY
