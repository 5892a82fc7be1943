//! Fills the `build.info` attributes (git commit, build time, rustc) that
//! `ferrotel::runtime_metrics::build_info!()` reads in `main.rs`.

fn main() {
    ferrotel_runtime::build_script::emit();
}
