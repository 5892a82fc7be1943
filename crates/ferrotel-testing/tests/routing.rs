//! Routing details: instruments created once and shared (bound ones included), spans started
//! through the OpenTelemetry API, sync tests outside any runtime, and threads a test starts.

use std::sync::LazyLock;

use ferrotel_testing::capture;
use opentelemetry::KeyValue;
use opentelemetry::metrics::{BoundCounter, Counter};
use opentelemetry::trace::{Tracer, TracerProvider as _};

static JOBS: LazyLock<Counter<u64>> = LazyLock::new(|| {
    opentelemetry::global::meter("jobs")
        .u64_counter("jobs.done")
        .build()
});
static JOBS_OK: LazyLock<BoundCounter<u64>> =
    LazyLock::new(|| JOBS.bind(&[KeyValue::new("outcome", "ok")]));

fn work(capture: &capture::Capture, n: u64) {
    for _ in 0..n {
        JOBS_OK.add(1);
    }
    JOBS.add(100, &[KeyValue::new("outcome", "failed")]);
    opentelemetry::global::tracer_provider()
        .tracer("api")
        .in_span("api_span", |_| {});
    assert_eq!(
        capture.counter_sum("jobs.done", &[("outcome", "ok".into())]),
        Some(n as f64)
    );
    assert_eq!(
        capture.counter_sum("jobs.done", &[]),
        Some(n as f64 + 100.0)
    );
    assert_eq!(capture.spans_named("api_span").len(), 1);
}

#[test]
fn shared_and_bound_instruments_record_into_the_current_capture() {
    // Two sync tests' worth of captures on two threads at once, no runtime anywhere.
    let handles: Vec<_> = [3_u64, 5]
        .into_iter()
        .map(|n| {
            std::thread::spawn(move || {
                let capture = capture::start(&format!("jobs-{n}"));
                work(&capture, n);
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn observable_instruments_belong_to_the_capture_that_built_them() {
    let capture = capture::start("gauges");
    let _gauge = opentelemetry::global::meter("queue")
        .u64_observable_gauge("queue.depth")
        .with_callback(|obs| obs.observe(7, &[]))
        .build();
    assert_eq!(capture.gauge_value("queue.depth", &[]), Some(7.0));
}

#[test]
fn a_thread_the_test_starts_joins_with_attach_current() {
    let capture = capture::start("threads");
    std::thread::scope(|scope| {
        scope.spawn(|| tracing::info_span!("unattached").in_scope(|| {}));
    });
    std::thread::scope(|scope| {
        scope.spawn(|| {
            capture.attach_current();
            tracing::info_span!("attached").in_scope(|| {});
        });
    });
    let names: Vec<String> = capture.spans().iter().map(|s| s.name.to_string()).collect();
    assert_eq!(names, vec!["attached".to_string()]);
}
