//! The jemalloc source with jemalloc as this test binary's global allocator (feature
//! `jemalloc`): holding 100 MB moves live heap bytes up by at least 100 MB and back down.

mod common;

use common::{Harness, value};
use ferrotel_runtime::{AllocatorSource, Jemalloc, RuntimeMetrics, names};

#[global_allocator]
static ALLOC: Jemalloc = Jemalloc;

#[test]
fn holding_100_mb_moves_jemalloc_live_heap() {
    const HUNDRED_MB: f64 = (100 * 1024 * 1024) as f64;
    let harness = Harness::new();
    let handle = RuntimeMetrics::builder()
        .with_allocator_sources([AllocatorSource::Jemalloc])
        .without_process_metrics()
        .build()
        .register(&harness.meter())
        .unwrap();
    let jemalloc = Some((names::RUST_ALLOCATOR, "jemalloc"));
    let read = || {
        handle.refresh();
        let exported = harness.collect();
        (
            value(&exported, names::HEAP_LIVE, jemalloc),
            value(&exported, names::HEAP_MAPPED, jemalloc),
        )
    };

    let (live_before, _) = read();
    let held = vec![7u8; 100 * 1024 * 1024];
    let (live_holding, mapped_holding) = read();
    assert!(
        live_holding - live_before >= HUNDRED_MB,
        "{live_before} -> {live_holding}"
    );
    assert!(mapped_holding >= live_holding);
    drop(std::hint::black_box(held));
    let (live_released, _) = read();
    assert!(
        live_holding - live_released >= HUNDRED_MB,
        "{live_holding} -> {live_released}"
    );
}
