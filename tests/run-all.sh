#!/usr/bin/env bash
# The one test command (README): installs what the tests need on a fresh Debian machine, then
# runs every check and test, end-to-end ones included. An end-to-end test whose peer is missing
# fails; nothing is skipped.
set -euo pipefail
cd "$(dirname "$0")/.."
# A one-shot build gains nothing from incremental data (tens of GB on a long-lived checkout), and
# line tables are all the debug info test backtraces need: less to write, less to link.
export CARGO_INCREMENTAL=0
export CARGO_PROFILE_DEV_DEBUG=line-tables-only

step() { printf '\n==> %s\n' "$*"; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

step "install test peers"
need_apt=()
command -v promtool   >/dev/null || need_apt+=(prometheus)
command -v amtool     >/dev/null || need_apt+=(prometheus-alertmanager)
command -v docker-compose >/dev/null || need_apt+=(docker-compose)
command -v wrk        >/dev/null || need_apt+=(wrk)
if [ ${#need_apt[@]} -gt 0 ]; then
  as_root apt-get update -qq
  # A failing post-install script of some unrelated dependency must not stop the run; what
  # matters is that the tools exist, which is checked right after.
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends "${need_apt[@]}" \
    || echo "apt-get reported an error; checking the tools themselves"
fi
for tool in prometheus promtool amtool docker-compose wrk; do
  command -v "$tool" >/dev/null || { echo "missing $tool after apt-get install"; exit 1; }
done
# Debian's prometheus package may start a daemon on :9090; the tests start their own on free ports.
pkill -x prometheus 2>/dev/null || true
pkill -x prometheus-alertmanager 2>/dev/null || true
python3 -m pip install --quiet --disable-pip-version-check 'rotel==0.0.1a15'
command -v cargo-deny >/dev/null || cargo install --locked --quiet cargo-deny@0.20.2
command -v cargo-fuzz >/dev/null || cargo install --locked --quiet cargo-fuzz@0.13.2
command -v cargo-hack >/dev/null || cargo install --locked --quiet cargo-hack@0.6.46

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy (all targets, all features, warnings are errors)"
cargo clippy --workspace --all-targets --all-features --quiet -- -D warnings

step "cargo deny (licenses, bans, sources: the checks that need no advisory database)"
cargo deny check licenses bans sources

step "tests (unit, integration, doc, end-to-end)"
cargo test --workspace --all-features --no-fail-fast

step "ferrotel without the tls feature: endpoints that ask for TLS disable their signal with a warning"
cargo test -p ferrotel --features grpc,http-json,gzip,stdout,metrics-facade,tracing-opentelemetry --lib --quiet

# The published crates, each with no default features and with every feature alone: an optional
# integration must build without the others.
LIBRARY_CRATES=(ferrotel ferrotel-tracing ferrotel-meters ferrotel-runtime ferrotel-http ferrotel-prometheus ferrotel-redaction ferrotel-testing)
step "feature matrix: every library crate, --no-default-features and each feature alone (cargo hack)"
cargo hack check --quiet --each-feature --no-dev-deps $(printf -- '-p %s ' "${LIBRARY_CRATES[@]}")

step "lean builds: an HTTP-only ferrotel (gzip included) has no tonic in its tree"
for features in "" "gzip" "gzip,http-json"; do
  if cargo tree -p ferrotel --no-default-features --features "$features" -e normal --prefix none \
      | grep -E '^tonic ' >/dev/null; then
    echo "ferrotel --no-default-features --features '$features' depends on tonic:"
    cargo tree -p ferrotel --no-default-features --features "$features" -e normal -i tonic
    exit 1
  fi
done

step "the fake receiver alone (ferrotel-testing without default features) does not depend on ferrotel"
if cargo tree -p ferrotel-testing --no-default-features -e normal --prefix none | grep -E '^ferrotel ' >/dev/null; then
  echo "ferrotel-testing --no-default-features depends on ferrotel:"
  cargo tree -p ferrotel-testing --no-default-features -e normal -i ferrotel
  exit 1
fi

step "cargo publish --workspace --dry-run (examples, tests, benches and generators are publish = false)"
# The dry run verifies each crate against the others through a local registry under target/, and
# cargo unpacks that registry's crates into $CARGO_HOME/registry/src/<hash of its path>/ once:
# an unpacked copy left by an earlier run at the same path (same version, older code) would be
# built instead of this tree. Remove those copies of the workspace's own crates first.
cargo_home="${CARGO_HOME:-$HOME/.cargo}"
for crate in "${LIBRARY_CRATES[@]}"; do
  find "$cargo_home/registry/src" -mindepth 2 -maxdepth 2 -type d -name "$crate-[0-9]*" \
    -path "$cargo_home/registry/src/-*" -exec rm -rf {} + 2>/dev/null || true
done
cargo publish --workspace --dry-run --quiet

step "benchmarks build and run once each (criterion test mode; the HTTP load comparison for one short round)"
cargo test -p ferrotel-benches --benches --quiet
cargo build -p ferrotel-benches --bin http_load_server --quiet
HTTP_LOAD_SERVER="${CARGO_TARGET_DIR:-target}/debug/http_load_server" benches/http-load.sh 1 8 1

step "fuzz the redaction engine (bounded, seeded)"
crates/ferrotel-redaction/fuzz/run.sh

step "fuzz the OTEL_* settings, W3C headers, the fake receiver's OTLP decoding and our OTLP encoder (bounded, seeded)"
fuzz/run.sh

step "all checks passed"
