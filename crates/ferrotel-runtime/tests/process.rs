//! Process metrics move with the process: one test in this binary, so no other test's
//! threads or files disturb the counts.

mod common;

use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use common::{Harness, value};
use ferrotel_runtime::{RuntimeMetrics, names};

#[test]
#[cfg(target_os = "linux")]
fn cpu_time_threads_and_fds_follow_the_process() {
    let harness = Harness::new();
    let handle = RuntimeMetrics::builder()
        .with_allocator_sources([])
        .build()
        .register(&harness.meter())
        .unwrap();
    let read = |name: &str, attribute: Option<(&str, &str)>| {
        handle.refresh();
        value(&harness.collect(), name, attribute)
    };
    let user = Some((names::CPU_MODE, "user"));

    // CPU time grows after a busy loop (bounded by iterations and by 5 s).
    let cpu_before = read(names::PROCESS_CPU_TIME, user);
    let start = Instant::now();
    let mut x = 1u64;
    for _ in 0..1_000_000_000u64 {
        x = std::hint::black_box(x.wrapping_mul(6364136223846793005).wrapping_add(1));
        if start.elapsed() > Duration::from_millis(300) {
            break;
        }
    }
    let cpu_after = read(names::PROCESS_CPU_TIME, user);
    assert!(cpu_after > cpu_before, "cpu {cpu_before} -> {cpu_after}");

    // Thread count matches the threads spawned.
    let threads_before = read(names::PROCESS_THREAD_COUNT, None);
    let barrier = Arc::new(Barrier::new(9));
    let workers: Vec<_> = (0..8)
        .map(|_| {
            let barrier = Arc::clone(&barrier);
            std::thread::spawn(move || {
                barrier.wait();
                barrier.wait();
            })
        })
        .collect();
    barrier.wait(); // all 8 are running
    let threads_during = read(names::PROCESS_THREAD_COUNT, None);
    barrier.wait();
    for worker in workers {
        worker.join().unwrap();
    }
    let threads_after = read(names::PROCESS_THREAD_COUNT, None);
    assert_eq!(threads_during - threads_before, 8.0);
    assert_eq!(threads_after, threads_before);

    // fd count moves when files are opened and closed.
    let fds_before = read(names::PROCESS_FD_COUNT, None);
    let files: Vec<_> = (0..10).map(|_| tempfile::tempfile().unwrap()).collect();
    let fds_during = read(names::PROCESS_FD_COUNT, None);
    drop(files);
    let fds_after = read(names::PROCESS_FD_COUNT, None);
    assert_eq!(fds_during - fds_before, 10.0);
    assert_eq!(fds_after, fds_before);

    // Memory: 64 MiB touched shows up in the resident set.
    let rss_before = read(names::PROCESS_MEMORY_USAGE, None);
    let block = vec![1u8; 64 << 20];
    let rss_during = read(names::PROCESS_MEMORY_USAGE, None);
    assert!(
        rss_during - rss_before >= (60 << 20) as f64,
        "rss {rss_before} -> {rss_during}"
    );
    assert!(read(names::PROCESS_MEMORY_VIRTUAL, None) >= rss_during);
    std::hint::black_box(&block);
    assert!(read(names::PROCESS_UPTIME, None) > 0.0);
}
