//! The glibc source (this test binary uses the system allocator): holding 100 MB moves
//! `rust.memory.heap.live{rust.allocator="glibc"}` up by at least 100 MB, releasing it moves it
//! back down; the mapped bytes follow (a 100 MB block is its own mmap chunk).

mod common;

#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[test]
fn holding_100_mb_moves_glibc_live_and_mapped_heap() {
    use common::{Harness, value};
    use ferrotel_runtime::{AllocatorSource, RuntimeMetrics, names};

    const HUNDRED_MB: f64 = (100 * 1024 * 1024) as f64;
    let harness = Harness::new();
    let handle = RuntimeMetrics::builder()
        .with_allocator_sources([AllocatorSource::Glibc])
        .without_process_metrics()
        .build()
        .register(&harness.meter())
        .unwrap();
    let glibc = Some((names::RUST_ALLOCATOR, "glibc"));
    let read = || {
        handle.refresh();
        let exported = harness.collect();
        (
            value(&exported, names::HEAP_LIVE, glibc),
            value(&exported, names::HEAP_MAPPED, glibc),
        )
    };

    let (live_before, mapped_before) = read();
    let held = vec![7u8; 100 * 1024 * 1024];
    let (live_holding, mapped_holding) = read();
    assert!(
        live_holding - live_before >= HUNDRED_MB,
        "{live_before} -> {live_holding}"
    );
    assert!(
        mapped_holding - mapped_before >= HUNDRED_MB,
        "{mapped_before} -> {mapped_holding}"
    );
    drop(std::hint::black_box(held));
    let (live_released, mapped_released) = read();
    assert!(
        live_holding - live_released >= HUNDRED_MB,
        "{live_holding} -> {live_released}"
    );
    assert!(mapped_holding - mapped_released >= HUNDRED_MB);
}
