//! Declares the `tokio_unstable` cfg so `#[cfg(tokio_unstable)]` code passes `unexpected_cfgs`.
fn main() {
    println!("cargo::rustc-check-cfg=cfg(tokio_unstable)");
}
