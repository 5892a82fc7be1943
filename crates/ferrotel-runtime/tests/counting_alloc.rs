//! The counting allocator as this test binary's global allocator: holding 100 MB moves
//! `rust.memory.heap.live{rust.allocator="counting"}` up by at least 100 MB, releasing it moves
//! it back down. One test in this binary, so no other test allocates meanwhile.

mod common;

use std::alloc::System;

use common::{Harness, find, value};
use ferrotel_runtime::{AllocatorSource, CountingAlloc, RuntimeMetrics, names};

#[global_allocator]
static ALLOC: CountingAlloc<System> = CountingAlloc::new(System);

const HUNDRED_MB: usize = 100 * 1024 * 1024;

#[test]
fn holding_100_mb_moves_live_heap_by_100_mb_and_threads_add_up() {
    let harness = Harness::new();
    let handle = RuntimeMetrics::builder()
        .with_allocator_sources([AllocatorSource::Counting])
        .without_process_metrics()
        .build()
        .register(&harness.meter())
        .unwrap();
    let counting = Some((names::RUST_ALLOCATOR, "counting"));
    let live = || {
        handle.refresh();
        value(&harness.collect(), names::HEAP_LIVE, counting)
    };

    let before = live();
    assert!(before > 0.0);
    let held = vec![7u8; HUNDRED_MB];
    let holding = live();
    assert!(
        holding - before >= HUNDRED_MB as f64,
        "{before} -> {holding}"
    );
    drop(std::hint::black_box(held));
    let released = live();
    assert!(
        holding - released >= HUNDRED_MB as f64,
        "{holding} -> {released}"
    );

    // The counting allocator knows nothing of OS mappings: no mapped series for it.
    let exported = harness.collect();
    assert!(find(&exported, names::HEAP_MAPPED).is_none());
    assert!(
        handle
            .instruments()
            .iter()
            .all(|i| i.name != names::HEAP_MAPPED)
    );

    // 16 threads each allocate and keep 1 MiB; this thread frees them all.
    let before = live();
    let blocks: Vec<Vec<u8>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..16)
            .map(|_| scope.spawn(|| vec![1u8; 1 << 20]))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let during = live();
    drop(std::hint::black_box(blocks));
    let after = live();
    // Exiting threads free their own bookkeeping concurrently: compare with a little slack.
    assert!(during - before >= (15 << 20) as f64, "{before} -> {during}");
    assert!(during - after >= (15 << 20) as f64, "{during} -> {after}");
}
