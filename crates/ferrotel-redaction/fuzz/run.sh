#!/usr/bin/env bash
# Runs the redaction fuzz targets (redact: arbitrary text; redact_url: secrets percent-encoded
# in URLs) for a bounded time each; exits non-zero on a crash.
#   crates/ferrotel-redaction/fuzz/run.sh [seconds per target] [target...]   (default 45, both)
# The run is seeded (FUZZ_SEED, default 1) so that CI explores the same inputs on every clean
# clone and a failure reproduces; FUZZ_SEED=0 lets libFuzzer pick a random seed (exploration).
# Crashes found are written to fuzz/artifacts/<target>/ and belong in tests/ once fixed.
# Needs: cargo install cargo-fuzz; a nightly toolchain if present, otherwise the
# stable one with RUSTC_BOOTSTRAP=1 (cargo-fuzz passes -Z flags), sanitizer off.
set -euo pipefail
SECONDS_TO_RUN="${1:-45}"
shift || true
TARGETS=(redact redact_url)
if [[ $# -gt 0 ]]; then TARGETS=("$@"); fi
cd "$(dirname "$0")/.."   # crates/ferrotel-redaction: the package that owns fuzz/

source ../../fuzz/toolchain.sh

mkdir -p fuzz/corpus/redact
# Seed corpus: one line per secret shape (generated, not real secrets).
printf '%s\n' \
  $'\x00password=hunter2 /home/alice/x' \
  $'\x00https://u:p@h/x?X-Amz-Signature=abc&sig=1' \
  $'\x01Authorization: Bearer abc.def-123 Basic dXNlcjpwYXNz' \
  $'\x00-----BEGIN RSA PRIVATE KEY-----\\nMIIabc' \
  $'\x02eyJhbGciOi.eyJzdWIi.sig C:\\Users\\bob\\ 123-45' \
  | while IFS= read -r line; do
      printf '%s' "$line" > "fuzz/corpus/redact/seed-$(printf '%s' "$line" | cksum | cut -d' ' -f1)"
    done

mkdir -p fuzz/corpus/redact_url
# Seed corpus: selector, place, then encoding choices and filler.
printf '\x00\x00\x01\x03\x05\x00abc def' > fuzz/corpus/redact_url/seed-aws
printf '\x03\x01\x04\x04\x01\x02x y' > fuzz/corpus/redact_url/seed-pem
printf '\x04\x02\x00\x00\x00\x00path' > fuzz/corpus/redact_url/seed-home
# Filler spelling the planted secret itself (a false leak the oracle once reported).
printf '\xc5\x90@++\xd4\xfd\x0c\x82,\x02@\x93\xffbbbbbbbbbbbbbbhunter2secret/ai\x86g\x86g@@@@@@\x04\xf5:\x5c\x5c\x01\x09\x0a\xfe)\x5c+' > fuzz/corpus/redact_url/seed-filler-secret
# A `+`-encoded `Authorization: Bearer` token in a path, with no `=` anywhere (was missed).
printf '\xec\xdc\x1a|||||||||||||||||||||||||||||||||||||||||@@\xff\xff\xff\x02cbc[REDACTED:basic\xff\xff\x00_' > fuzz/corpus/redact_url/seed-plus-in-path

for target in "${TARGETS[@]}"; do
  cargo "${TOOLCHAIN[@]}" fuzz run "${SANITIZER[@]}" "$target" "fuzz/corpus/$target" -- \
    -seed="${FUZZ_SEED:-1}" -max_total_time="$SECONDS_TO_RUN" -max_len=65536 -timeout=10 \
    -rss_limit_mb=2048
done
