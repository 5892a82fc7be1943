//! Every instrument through the in-memory exporter; tokio alive tasks and stall probe.

mod common;

use std::collections::HashSet;
use std::time::Duration;

use common::{Harness, find, value};
use ferrotel_meters::InstrumentKind;
use ferrotel_runtime::{BuildInfo, RegisterError, RuntimeMetrics, build_info, descriptors, names};

fn tokio_id(handle: &tokio::runtime::Handle) -> String {
    handle.id().to_string()
}

/// Collects until `name` shows up (bounded: 500 tries, 10 ms apart).
fn collect_until(harness: &Harness, name: &str) -> Vec<common::Exported> {
    for _ in 0..500 {
        let exported = harness.collect();
        if find(&exported, name).is_some() {
            return exported;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    panic!("{name} never exported");
}

#[test]
fn every_registered_instrument_is_exported_with_its_name_kind_and_unit() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let harness = Harness::with_in_memory_exporter();
    let handle = RuntimeMetrics::builder()
        .with_tokio_runtime(runtime.handle().clone())
        .with_stall_probe_interval(Duration::from_millis(5))
        .with_build_info(
            BuildInfo::new("1.2.3")
                .with_git_commit("abc123def456")
                .with_build_time("2024-01-20T10:00:00Z")
                .with_rustc_version("1.95.0"),
        )
        .build()
        .register(&harness.meter())
        .unwrap();

    let expected: &[(&str, InstrumentKind, &str)] = &[
        (
            names::PROCESS_CPU_TIME,
            InstrumentKind::ObservableCounter,
            "s",
        ),
        (
            names::PROCESS_CPU_UTILIZATION,
            InstrumentKind::ObservableGauge,
            "1",
        ),
        (
            names::PROCESS_MEMORY_USAGE,
            InstrumentKind::ObservableUpDownCounter,
            "By",
        ),
        (
            names::PROCESS_MEMORY_VIRTUAL,
            InstrumentKind::ObservableUpDownCounter,
            "By",
        ),
        (
            names::PROCESS_THREAD_COUNT,
            InstrumentKind::ObservableUpDownCounter,
            "{thread}",
        ),
        (
            names::PROCESS_FD_COUNT,
            InstrumentKind::ObservableUpDownCounter,
            "{file_descriptor}",
        ),
        (
            names::PROCESS_CONTEXT_SWITCHES,
            InstrumentKind::ObservableCounter,
            "{context_switch}",
        ),
        (
            names::PROCESS_PAGING_FAULTS,
            InstrumentKind::ObservableCounter,
            "{fault}",
        ),
        (names::PROCESS_UPTIME, InstrumentKind::ObservableGauge, "s"),
        (
            names::ALIVE_TASKS,
            InstrumentKind::ObservableGauge,
            "{task}",
        ),
        (names::WORKERS, InstrumentKind::ObservableGauge, "{thread}"),
        (
            names::GLOBAL_QUEUE_DEPTH,
            InstrumentKind::ObservableGauge,
            "{task}",
        ),
        (
            names::WORKER_BUSY_TIME,
            InstrumentKind::ObservableCounter,
            "s",
        ),
        (
            names::WORKER_PARKS,
            InstrumentKind::ObservableCounter,
            "{park}",
        ),
        (names::STALL_DURATION, InstrumentKind::Histogram, "s"),
        (names::BUILD_INFO, InstrumentKind::ObservableGauge, ""),
        // This test binary uses the system allocator: glibc is the heap source on linux-gnu.
        #[cfg(all(target_os = "linux", target_env = "gnu"))]
        (names::HEAP_LIVE, InstrumentKind::ObservableGauge, "By"),
        #[cfg(all(target_os = "linux", target_env = "gnu"))]
        (names::HEAP_MAPPED, InstrumentKind::ObservableGauge, "By"),
    ];
    let registered: HashSet<_> = handle
        .instruments()
        .iter()
        .map(|i| (i.name, i.kind, i.unit))
        .collect();
    for instrument in expected {
        assert!(
            registered.contains(instrument),
            "{instrument:?} not registered: {registered:?}"
        );
    }

    // The stall histogram appears once the probe has recorded.
    let exported = collect_until(&harness, names::STALL_DURATION);
    for info in handle.instruments() {
        assert!(
            descriptors::ALL.contains(info),
            "{} missing from descriptors::ALL",
            info.name
        );
        let metric =
            find(&exported, info.name).unwrap_or_else(|| panic!("{} not exported", info.name));
        assert_eq!(metric.kind, info.kind, "{}", info.name);
        assert_eq!(metric.unit, info.unit, "{}", info.name);
        assert_eq!(metric.description, info.description, "{}", info.name);
        for point in &metric.points {
            for (key, value) in &point.attributes {
                let label = info
                    .labels
                    .iter()
                    .find(|l| l.key == key)
                    .unwrap_or_else(|| panic!("{}: attribute {key} not declared", info.name));
                if let ferrotel_meters::LabelValues::Closed(values) = label.values {
                    assert!(
                        values.contains(&value.as_str()),
                        "{}: {key}={value}",
                        info.name
                    );
                }
            }
        }
        assert!(!metric.points.is_empty(), "{} has no points", info.name);
    }

    let id = tokio_id(runtime.handle());
    let runtime_attr = Some((names::TOKIO_RUNTIME_ID, id.as_str()));
    assert_eq!(value(&exported, names::WORKERS, runtime_attr), 2.0);
    let stall = find(&exported, names::STALL_DURATION).unwrap();
    assert_eq!(
        stall.points[0].attribute(names::TOKIO_RUNTIME_ID),
        Some(id.as_str())
    );
    assert!(stall.points[0].count >= 1);
    for mode in ["user", "system"] {
        value(
            &exported,
            names::PROCESS_CPU_TIME,
            Some((names::CPU_MODE, mode)),
        );
        let utilization = value(
            &exported,
            names::PROCESS_CPU_UTILIZATION,
            Some((names::CPU_MODE, mode)),
        );
        assert!((0.0..=1.0).contains(&utilization));
    }
    for kind in ["voluntary", "involuntary"] {
        value(
            &exported,
            names::PROCESS_CONTEXT_SWITCHES,
            Some((names::PROCESS_CONTEXT_SWITCH_TYPE, kind)),
        );
    }
    for kind in ["minor", "major"] {
        value(
            &exported,
            names::PROCESS_PAGING_FAULTS,
            Some((names::SYSTEM_PAGING_FAULT_TYPE, kind)),
        );
    }
    let build = &find(&exported, names::BUILD_INFO).unwrap().points[0];
    assert_eq!(build.value, 1.0);
    assert_eq!(build.attribute(names::BUILD_VERSION), Some("1.2.3"));
    assert_eq!(
        build.attribute(names::BUILD_GIT_COMMIT),
        Some("abc123def456")
    );
    assert_eq!(
        build.attribute(names::BUILD_TIME),
        Some("2024-01-20T10:00:00Z")
    );
    assert_eq!(build.attribute(names::BUILD_RUSTC_VERSION), Some("1.95.0"));
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        let live = value(
            &exported,
            names::HEAP_LIVE,
            Some((names::RUST_ALLOCATOR, "glibc")),
        );
        let mapped = value(
            &exported,
            names::HEAP_MAPPED,
            Some((names::RUST_ALLOCATOR, "glibc")),
        );
        assert!(live > 0.0 && mapped >= live, "live {live} mapped {mapped}");
    }

    // Dropping the handle stops the probe and every callback.
    drop(handle);
    let exported = harness.collect();
    assert!(find(&exported, names::ALIVE_TASKS).is_none_or(|m| m.points.is_empty()));
    assert!(find(&exported, names::PROCESS_CPU_TIME).is_none_or(|m| m.points.is_empty()));
}

#[test]
fn thousand_sleeping_tasks_raise_alive_tasks_by_at_least_a_thousand() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let harness = Harness::new();
    let handle = RuntimeMetrics::builder()
        .with_tokio_runtime(runtime.handle().clone())
        .without_stall_probe()
        .without_process_metrics()
        .build()
        .register(&harness.meter())
        .unwrap();
    let id = tokio_id(runtime.handle());
    let attr = Some((names::TOKIO_RUNTIME_ID, id.as_str()));

    handle.refresh();
    let before = value(&harness.collect(), names::ALIVE_TASKS, attr);
    let (stop, stopped) = tokio::sync::watch::channel(());
    let tasks: Vec<_> = (0..1000)
        .map(|_| {
            let mut stopped = stopped.clone();
            runtime.spawn(async move {
                let _ = stopped.changed().await;
            })
        })
        .collect();
    handle.refresh();
    let during = value(&harness.collect(), names::ALIVE_TASKS, attr);
    assert!(
        during - before >= 1000.0,
        "before {before}, during {during}"
    );

    drop(stop);
    runtime.block_on(async {
        for task in tasks {
            task.await.unwrap();
        }
    });
    // A finished task is released right after its JoinHandle completes: poll (bounded).
    let mut after = f64::MAX;
    for _ in 0..200 {
        handle.refresh();
        after = value(&harness.collect(), names::ALIVE_TASKS, attr);
        if after <= before {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(after <= before, "before {before}, after {after}");
}

#[test]
fn blocking_a_current_thread_runtime_for_200ms_records_a_stall_of_at_least_200ms() {
    const PROBE: Duration = Duration::from_millis(10);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let harness = Harness::new();
    let _handle = RuntimeMetrics::builder()
        .with_tokio_runtime(runtime.handle().clone())
        .with_stall_probe_interval(PROBE)
        .without_process_metrics()
        .build()
        .register(&harness.meter())
        .unwrap();
    runtime.block_on(async {
        // Let the probe run and go to sleep: its deadline is now at most PROBE away.
        tokio::time::sleep(PROBE * 3).await;
        // Block the only thread past that deadline and then 200 ms more: the probe, due at
        // the latest PROBE into the block, wakes at least 200 ms late.
        std::thread::sleep(PROBE + Duration::from_millis(200));
        // Give the probe its turn to record.
        tokio::time::sleep(PROBE * 3).await;
    });
    let exported = harness.collect();
    let stall = find(&exported, names::STALL_DURATION).expect("stall histogram");
    let max = stall.points.iter().map(|p| p.value).fold(0.0, f64::max);
    assert!(max >= 0.2, "max stall {max}");
}

#[test]
fn registration_without_a_runtime_reports_process_metrics_only() {
    let harness = Harness::new();
    let handle = RuntimeMetrics::builder()
        .with_current_tokio_runtime()
        .build()
        .register(&harness.meter())
        .unwrap();
    let names_registered: Vec<_> = handle.instruments().iter().map(|i| i.name).collect();
    assert!(
        names_registered.iter().all(|n| !n.starts_with("tokio.")),
        "{names_registered:?}"
    );
    #[cfg(target_os = "linux")]
    assert!(names_registered.contains(&names::PROCESS_CPU_TIME));
    let exported = harness.collect();
    assert!(find(&exported, names::ALIVE_TASKS).is_none());
}

#[tokio::test]
async fn current_runtime_is_picked_up_inside_a_runtime() {
    let harness = Harness::new();
    let handle = RuntimeMetrics::builder()
        .with_current_tokio_runtime()
        .with_current_tokio_runtime()
        .build()
        .register(&harness.meter())
        .unwrap();
    assert!(
        handle
            .instruments()
            .iter()
            .any(|i| i.name == names::ALIVE_TASKS)
    );
    let exported = harness.collect();
    let alive = find(&exported, names::ALIVE_TASKS).unwrap();
    assert_eq!(
        alive.points.len(),
        1,
        "same runtime added twice is observed once"
    );
}

#[test]
fn invalid_intervals_are_rejected_with_the_setting_named() {
    let harness = Harness::new();
    let error = RuntimeMetrics::builder()
        .with_stall_probe_interval(Duration::ZERO)
        .build()
        .register(&harness.meter())
        .unwrap_err();
    assert!(matches!(
        error,
        RegisterError::InvalidInterval {
            setting: "stall probe interval",
            ..
        }
    ));
    assert!(error.to_string().contains("stall probe interval"));
    let error = RuntimeMetrics::builder()
        .with_min_collect_interval(Duration::from_secs(7200))
        .build()
        .register(&harness.meter())
        .unwrap_err();
    assert!(error.to_string().contains("min collect interval"));
}

#[test]
fn readings_are_shared_within_the_min_collect_interval() {
    let harness = Harness::new();
    let _handle = RuntimeMetrics::builder()
        .with_min_collect_interval(Duration::from_secs(3600))
        .build()
        .register(&harness.meter())
        .unwrap();
    let first = harness.collect();
    // Burn CPU: a fresh reading would show more CPU time; the shared one does not.
    let start = std::time::Instant::now();
    let mut x = 0u64;
    while start.elapsed() < Duration::from_millis(50) {
        x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(7));
    }
    let second = harness.collect();
    #[cfg(unix)]
    {
        let attr = Some((names::CPU_MODE, "user"));
        assert_eq!(
            value(&first, names::PROCESS_CPU_TIME, attr),
            value(&second, names::PROCESS_CPU_TIME, attr)
        );
    }
    let _ = (first, second);
}

#[test]
fn build_info_macro_reads_this_crate_at_compile_time() {
    let info = build_info!();
    assert_eq!(info.version(), env!("CARGO_PKG_VERSION"));
    // This package's build script does not call `build_script::emit`: graceful fallback.
    assert_eq!(info.git_commit(), ferrotel_runtime::UNKNOWN);
    assert_eq!(info.rustc_version(), ferrotel_runtime::UNKNOWN);
}

/// `RUSTFLAGS="--cfg tokio_unstable" cargo test -p ferrotel-runtime`
#[cfg(tokio_unstable)]
#[test]
fn tokio_unstable_histograms_are_exported_as_cumulative_le_buckets() {
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    builder
        .worker_threads(2)
        .enable_all()
        .enable_metrics_poll_time_histogram();
    #[cfg(feature = "tokio-schedule-latency")]
    builder.enable_metrics_schedule_latency_histogram();
    let runtime = builder.build().unwrap();
    let harness = Harness::new();
    let handle = RuntimeMetrics::builder()
        .with_tokio_runtime(runtime.handle().clone())
        .without_stall_probe()
        .without_process_metrics()
        .build()
        .register(&harness.meter())
        .unwrap();
    runtime.block_on(async {
        let tasks: Vec<_> = (0..100).map(|i| tokio::spawn(async move { i })).collect();
        for task in tasks {
            task.await.unwrap();
        }
    });
    handle.refresh();
    let exported = harness.collect();
    let buckets = find(&exported, names::POLL_TIME_BUCKETS).expect("poll time buckets");
    assert_eq!(buckets.kind, InstrumentKind::ObservableCounter);
    let mut counts: Vec<_> = buckets.points.iter().map(|p| p.value).collect();
    assert!(
        buckets
            .points
            .iter()
            .any(|p| p.attribute(names::LE) == Some("+Inf"))
    );
    let inf = buckets
        .points
        .iter()
        .find(|p| p.attribute(names::LE) == Some("+Inf"))
        .unwrap()
        .value;
    counts.sort_by(f64::total_cmp);
    assert_eq!(*counts.last().unwrap(), inf, "+Inf holds every poll");
    assert!(inf >= 100.0);
    let polls = value(&exported, names::TASK_POLLS, None);
    assert!(polls >= 100.0);
    assert!(value(&exported, names::SPAWNED_TASKS, None) >= 100.0);
    let schedule = find(&exported, names::SCHEDULE_LATENCY_BUCKETS);
    #[cfg(feature = "tokio-schedule-latency")]
    {
        let schedule = schedule.expect("schedule latency buckets");
        let inf = schedule
            .points
            .iter()
            .find(|p| p.attribute(names::LE) == Some("+Inf"))
            .unwrap();
        assert!(inf.value >= 100.0, "{inf:?}");
    }
    #[cfg(not(feature = "tokio-schedule-latency"))]
    assert!(
        schedule.is_none(),
        "needs the tokio-schedule-latency feature"
    );
}
