# Sourced by the fuzz run scripts: picks the toolchain and sanitizer for cargo fuzz.
# A nightly toolchain if present (address sanitizer), otherwise the stable one with
# RUSTC_BOOTSTRAP=1 (cargo-fuzz passes -Z flags), sanitizer off. FUZZ_TOOLCHAIN=stable forces
# the stable path even when nightly exists; FUZZ_SANITIZER=none|address forces a sanitizer.
if [[ "${FUZZ_TOOLCHAIN:-auto}" != stable ]] && rustup run nightly rustc --version >/dev/null 2>&1; then
  TOOLCHAIN=(+nightly)
  SANITIZER=(--sanitizer address)
else
  TOOLCHAIN=()
  SANITIZER=(--sanitizer none)
  export RUSTC_BOOTSTRAP=1
fi
if [[ -n "${FUZZ_SANITIZER:-}" ]]; then SANITIZER=(--sanitizer "$FUZZ_SANITIZER"); fi
