#!/usr/bin/env bash
# Runs the cross-crate fuzz targets (otel_env: OTEL_* settings; config_file: declarative
# configuration text (YAML, substitution, the schema); w3c_headers: traceparent,
# tracestate and baggage; otlp_receiver: the fake receiver's OTLP/HTTP decoding; otlp_encode: our
# OTLP trace encoder against the stock one) for a bounded time each; exits non-zero on a crash or
# a failed check.
#   fuzz/run.sh [seconds per target] [target...]   (default 30, all five)
# Seeded (FUZZ_SEED, default 1) so that CI explores the same inputs on every clean clone and a
# failure reproduces; FUZZ_SEED=0 lets libFuzzer pick a random seed (exploration). Crashes are
# written to fuzz/artifacts/<target>/ and belong in a crate's tests once fixed.
# Needs: cargo install cargo-fuzz; a nightly toolchain if present, otherwise the stable one
# with RUSTC_BOOTSTRAP=1 (cargo-fuzz passes -Z flags), sanitizer off.
set -euo pipefail
SECONDS_TO_RUN="${1:-30}"
shift || true
TARGETS=(otel_env w3c_headers otlp_receiver otlp_encode config_file)
if [[ $# -gt 0 ]]; then TARGETS=("$@"); fi
cd "$(dirname "$0")/.."   # the repository root: cargo fuzz looks for ./fuzz

source fuzz/toolchain.sh

seed() { mkdir -p "fuzz/corpus/$1"; printf "$3" > "fuzz/corpus/$1/seed-$2"; }
# otel_env: [variable selector][length][value]... (selectors index the target's name list).
seed otel_env queue '\x00\x05false\x1e\x0bhttp://h:1/\x39\x05x=1,y'
seed otel_env resource '\x02\x1cservice.name=a,k=%%41,bad,=v\x05\x14parentbased_traceidratio\x06\x030.5'
seed otel_env numbers '\x3b\x0599999\x3c\x014\x0b\x1418446744073709551615'
# A header value made of a header warning's own words (a false leak the oracle once reported).
seed otel_env header-words '8448441\xea\x00   m\xd5\xd5\xd5\xd5\xd5\xd5  entry 2 has no `=` (expected key=value)\xa5\xb4\xb4\xb4\x0b'
# A header value of replacement characters only, as lossy-decoded shown values are made of.
seed otel_env replacement-chars '8448441\xea\xba\xba\xba\xba\xba\xba\xba\xd5\xd5\xd5\xba\xba\xba\xba\xba\xba\xba\xba\xba\xba\xba\xba\xba\xbaxpected kay=\xd3\xb4\xb4\xb4xpected kay=\xba\xba\xba\xba\xba'
# A header value cut from a header warning's own text ("ry 2 has").
seed otel_env warning-text 'd=,v\x05\x14par,bad,=eidtaA,=vd8448441\xea\x00   m\xd5\xd5\xd5taA,\xd5\xd5\xd5  ent=ry 2 has '
# A header key ("kay") that ends a longer key of another signal ("... kay"): names are shown.
seed otel_env nested-keys '8448441\xea\xba\xba\xba\xba\xba\xba\xba\xd5\xd5\xd5\xba\xba\xba\xba\xba\xba\xba\xba\xba\xba\xba\xba\xba\xbaxpected kay=\xd3\xb4\xb4\xb4xpected kay=\xba\xba\xba\xd5\xba'
# w3c_headers: traceparent 0xff tracestate 0xff baggage.
seed w3c_headers valid '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01\xffcongo=t61rcWkgMzE,rojo=00f067aa0ba902b7\xffuserId=alice,isProduction=false'
seed w3c_headers future 'cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-ext\xfft@s=v\xffk=v;p=1'
# otlp_receiver: selector (signal % 3, bit 2 JSON, (>> 3) % 3 compression), then the body.
seed otlp_receiver traces-proto '\x00\x0a\x23\x12\x21\x12\x1f\x0a\x10\x4b\xf9\x2f\x35\x77\xb3\x4d\xa6\xa3\xce\x92\x9d\x0e\x0e\x47\x36\x12\x08\x00\xf0\x67\xaa\x0b\xa9\x02\xb7\x2a\x01x'
seed otlp_receiver logs-proto '\x02\x0a\x0a\x12\x08\x12\x06\x2a\x04\x0a\x02hi'
# config_file: the project's own fixtures, and substitution and nesting edge cases.
mkdir -p fuzz/corpus/config_file
cp crates/ferrotel/tests/config_files/*.yaml fuzz/corpus/config_file/
seed config_file subst 'file_format: "1.1"\ndisabled: ${B}\nattribute_limits:\n  attribute_count_limit: ${N:-3}\nresource:\n  attributes_list: "${S}$${x}"\n'
seed config_file alias 'file_format: "1.1"\na: &a [x, x, x]\nb: &b [*a, *a, *a]\nc: [*b, *b, *b]\n'
# otlp_encode: choices (span count, then each span's parts); any bytes are a valid input.
seed otlp_encode two-spans '\x02\x01\x05event\x02\x03\x04k\x01\x02\x01\x01'
seed otlp_receiver traces-json '\x04{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"s"}}]},"scopeSpans":[{"spans":[{"traceId":"4bf92f3577b34da6a3ce929d0e0e4736","spanId":"00f067aa0ba902b7","name":"x","kind":2,"attributes":[{"key":"n","value":{"intValue":"3"}}],"events":[{"name":"e"}],"status":{"code":2}}]}]}]}'
seed otlp_receiver metrics-json '\x0d{"resourceMetrics":[{"scopeMetrics":[{"metrics":[{"name":"m","sum":{"dataPoints":[{"asInt":"1","attributes":[{"key":"k","value":{"boolValue":true}}]}],"isMonotonic":true,"aggregationTemporality":2}},{"name":"h","histogram":{"dataPoints":[{"count":"2","sum":3.5,"bucketCounts":["1","1"],"explicitBounds":[1]}]}}]}]}]}'
seed otlp_receiver logs-json '\x06{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"body":{"stringValue":"hi"},"severityNumber":9,"traceId":"4bf92f3577b34da6a3ce929d0e0e4736"}]}]}]}'

for target in "${TARGETS[@]}"; do
  cargo "${TOOLCHAIN[@]}" fuzz run "${SANITIZER[@]}" "$target" "fuzz/corpus/$target" -- \
    -seed="${FUZZ_SEED:-1}" -max_total_time="$SECONDS_TO_RUN" -max_len=131072 -timeout=10 \
    -rss_limit_mb=2048
done
