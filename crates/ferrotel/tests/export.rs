//! OTLP export through `ferrotel::builder()` to the fake receiver: the three protocols, clean
//! shutdown on every runtime flavour, collector down, collector started late, and span creation
//! that never waits on the network.
#![cfg(all(feature = "grpc", feature = "http-json"))]

use std::io::Read;
use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use ferrotel::{Guard, Protocol};
use ferrotel_testing::{AttrValue, FakeReceiver, Signal};
use opentelemetry::KeyValue;

const WAIT: Duration = Duration::from_secs(20);

/// A pipeline that exports only when flushed or shut down (long schedule delays), so counts
/// prove the final flush.
fn pipeline(endpoint: &str, protocol: Protocol) -> Guard {
    ferrotel::builder()
        .service_name("export-test")
        .service_version("9.9.9")
        .deployment_environment("ci")
        .endpoint(endpoint)
        .protocol(protocol)
        .global(false)
        .env_lookup(|_| None)
        .console_format(ferrotel::ConsoleFormat::Off)
        .log_filter("info,ferrotel=warn")
        .span_schedule_delay(Duration::from_secs(60))
        .log_schedule_delay(Duration::from_secs(60))
        .metric_export_interval(Duration::from_secs(3600))
        .shutdown_timeout(Duration::from_secs(10))
        .init()
        .expect("init")
}

fn endpoint_for(receiver: &FakeReceiver, protocol: Protocol) -> String {
    match protocol {
        Protocol::Grpc => receiver.grpc_endpoint(),
        _ => receiver.http_endpoint(),
    }
}

/// Emits `n` spans (each with a child), `n` log records inside them and a counter of `n`.
fn emit(guard: &Guard, n: u64) {
    let counter = guard.meter("export-test").u64_counter("jobs.done").build();
    tracing::dispatcher::with_default(guard.dispatch(), || {
        for i in 0..n {
            tracing::info_span!("job", job.id = i as i64).in_scope(|| {
                tracing::info_span!("step").in_scope(|| {});
                tracing::info!(job.id = i as i64, "job finished");
            });
            counter.add(1, &[KeyValue::new("queue", "default")]);
        }
    });
}

fn assert_all_arrived(receiver: &FakeReceiver, n: usize) {
    receiver
        .wait_for_blocking(WAIT, |r| {
            r.spans_named("job").len() == n
                && r.log_records_containing("job finished").len() == n
                && r.counter_sum("jobs.done", &[("queue", AttrValue::from("default"))])
                    == Some(n as f64)
        })
        .unwrap_or_else(|e| panic!("not everything arrived: {e}"));
    assert_eq!(receiver.spans_named("step").len(), n);
    let job = &receiver.spans_named("job")[0];
    let child = receiver
        .children_of(job)
        .into_iter()
        .find(|s| s.name() == "step")
        .expect("step is a child of job");
    assert_eq!(child.trace_id(), job.trace_id());
    for log in receiver.log_records_containing("job finished") {
        assert!(
            !log.record.trace_id.is_empty(),
            "log records carry the trace id"
        );
    }
    for signal in [Signal::Traces, Signal::Metrics, Signal::Logs] {
        assert_eq!(
            receiver.resource_attribute(signal, "service.name"),
            Some(AttrValue::from("export-test")),
            "{signal:?}"
        );
        assert_eq!(
            receiver.resource_attribute(signal, "service.version"),
            Some(AttrValue::from("9.9.9"))
        );
        assert_eq!(
            receiver.resource_attribute(signal, "deployment.environment.name"),
            Some(AttrValue::from("ci"))
        );
        assert!(
            receiver
                .resource_attribute(signal, "service.instance.id")
                .is_some()
        );
        assert!(
            receiver
                .resource_attribute(signal, "telemetry.sdk.language")
                .is_some()
        );
        assert!(receiver.resource_attribute(signal, "host.name").is_some());
    }
}

fn round_trip(protocol: Protocol) {
    let receiver = FakeReceiver::start().unwrap();
    let guard = pipeline(&endpoint_for(&receiver, protocol), protocol);
    emit(&guard, 50);
    let report = guard.shutdown();
    assert!(report.is_ok(), "{report:?}");
    assert_all_arrived(&receiver, 50);
    assert_eq!(report.stats.spans.exported, 100);
    assert_eq!(report.stats.logs.exported, 50);
    assert_eq!(report.stats.spans.dropped + report.stats.spans.failed, 0);
}

#[test]
fn http_protobuf_delivers_spans_metrics_and_logs() {
    round_trip(Protocol::HttpProtobuf);
}

#[test]
fn http_json_delivers_spans_metrics_and_logs() {
    round_trip(Protocol::HttpJson);
}

#[test]
fn grpc_delivers_spans_metrics_and_logs() {
    round_trip(Protocol::Grpc);
}

/// A scheme-less gRPC endpoint with `OTEL_EXPORTER_OTLP_INSECURE=true` is plaintext gRPC.
#[test]
fn grpc_endpoint_without_a_scheme_is_plaintext_when_insecure() {
    let receiver = FakeReceiver::start().unwrap();
    let endpoint = receiver.grpc_endpoint();
    let scheme_less = endpoint.trim_start_matches("http://").to_string();
    assert_ne!(
        scheme_less, endpoint,
        "the fake receiver's gRPC endpoint is http://"
    );
    let guard = ferrotel::builder()
        .service_name("export-test")
        .service_version("9.9.9")
        .deployment_environment("ci")
        .global(false)
        .env_lookup(move |name| match name {
            "OTEL_EXPORTER_OTLP_ENDPOINT" => Some(scheme_less.clone()),
            "OTEL_EXPORTER_OTLP_PROTOCOL" => Some("grpc".into()),
            "OTEL_EXPORTER_OTLP_INSECURE" => Some("true".into()),
            _ => None,
        })
        .console_format(ferrotel::ConsoleFormat::Off)
        .log_filter("info,ferrotel=warn")
        .shutdown_timeout(Duration::from_secs(10))
        .init()
        .expect("init");
    assert!(
        guard.config().warnings.is_empty(),
        "{:?}",
        guard.config().warnings
    );
    emit(&guard, 5);
    let report = guard.shutdown();
    assert!(report.is_ok(), "{report:?}");
    assert_all_arrived(&receiver, 5);
}

#[test]
fn shutdown_loses_nothing_on_a_multi_thread_runtime() {
    let receiver = FakeReceiver::start().unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    for protocol in [Protocol::HttpProtobuf, Protocol::Grpc] {
        receiver.clear();
        rt.block_on(async {
            let guard = pipeline(&endpoint_for(&receiver, protocol), protocol);
            emit(&guard, 500);
            drop(guard); // the guard's Drop flushes
        });
        assert_all_arrived(&receiver, 500);
    }
}

#[test]
fn shutdown_loses_nothing_on_a_current_thread_runtime() {
    let receiver = FakeReceiver::start().unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    for protocol in [Protocol::HttpProtobuf, Protocol::Grpc] {
        receiver.clear();
        rt.block_on(async {
            let guard = pipeline(&endpoint_for(&receiver, protocol), protocol);
            emit(&guard, 500);
            let report = guard.shutdown();
            assert!(report.is_ok(), "{report:?}");
        });
        assert_all_arrived(&receiver, 500);
    }
}

#[test]
fn shutdown_loses_nothing_without_a_runtime() {
    let receiver = FakeReceiver::start().unwrap();
    for protocol in [Protocol::HttpProtobuf, Protocol::Grpc] {
        receiver.clear();
        let guard = pipeline(&endpoint_for(&receiver, protocol), protocol);
        emit(&guard, 500);
        drop(guard);
        assert_all_arrived(&receiver, 500);
    }
}

/// A port nobody listens on.
fn closed_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn collector_down_init_succeeds_and_shutdown_returns_within_its_timeout() {
    for protocol in [Protocol::HttpProtobuf, Protocol::Grpc] {
        let guard = ferrotel::builder()
            .endpoint(format!("http://127.0.0.1:{}", closed_port()))
            .protocol(protocol)
            .global(false)
            .env_lookup(|_| None)
            .console_format(ferrotel::ConsoleFormat::Off)
            .shutdown_timeout(Duration::from_secs(2))
            .init()
            .expect("init succeeds with the collector down");
        emit(&guard, 20);
        let report = guard.shutdown();
        // Bounded: the timeout plus scheduling slack, never the exporters' retry schedule.
        assert!(
            report.elapsed < Duration::from_secs(6),
            "{protocol:?}: shutdown took {:?}",
            report.elapsed
        );
        assert!(report.stats.spans.exported == 0, "{report:?}");
    }
}

#[test]
fn collector_started_mid_run_receives_later_telemetry() {
    let receiver = FakeReceiver::start().unwrap();
    receiver.shutdown();
    assert!(!receiver.is_running());
    let guard = ferrotel::builder()
        .endpoint(receiver.http_endpoint())
        .global(false)
        .env_lookup(|_| None)
        .console_format(ferrotel::ConsoleFormat::Off)
        .span_schedule_delay(Duration::from_millis(50))
        .shutdown_timeout(Duration::from_secs(10))
        .init()
        .unwrap();
    tracing::dispatcher::with_default(guard.dispatch(), || {
        tracing::info_span!("before").in_scope(|| {});
    });
    // The first export fails: nothing listens.
    let deadline = std::time::Instant::now() + WAIT;
    while guard.stats().spans.failed == 0 && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(guard.stats().spans.failed, 1, "{:?}", guard.stats());
    receiver.restart().unwrap();
    tracing::dispatcher::with_default(guard.dispatch(), || {
        tracing::info_span!("after").in_scope(|| {});
    });
    receiver
        .wait_for_blocking(WAIT, |r| r.span_named("after").is_some())
        .unwrap();
    let report = guard.shutdown();
    assert_eq!(report.stats.spans.exported, 1);
}

#[test]
fn span_creation_never_waits_on_a_hung_collector() {
    // A collector that accepts connections and never answers.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let accepted = Arc::new(AtomicUsize::new(0));
    let acc = Arc::clone(&accepted);
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().take(8).flatten() {
            acc.fetch_add(1, Ordering::SeqCst);
            let mut s = stream;
            let mut buf = [0u8; 4096];
            let _ = s.set_read_timeout(Some(Duration::from_millis(100)));
            let _ = s.read(&mut buf);
            held.push(s);
        }
        std::thread::sleep(Duration::from_secs(30));
    });
    let guard = ferrotel::builder()
        .endpoint(format!("http://127.0.0.1:{port}"))
        .global(false)
        .env_lookup(|name| (name == "OTEL_EXPORTER_OTLP_TIMEOUT").then(|| "15000".to_string()))
        .console_format(ferrotel::ConsoleFormat::Off)
        .span_schedule_delay(Duration::from_millis(10))
        .shutdown_timeout(Duration::from_secs(1))
        .init()
        .unwrap();
    tracing::dispatcher::with_default(guard.dispatch(), || {
        tracing::info_span!("first").in_scope(|| {});
    });
    let deadline = std::time::Instant::now() + WAIT;
    while accepted.load(Ordering::SeqCst) == 0 && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(
        accepted.load(Ordering::SeqCst) > 0,
        "the exporter connected"
    );
    // An export is now in flight and blocked on the network. Creating spans must not wait.
    tracing::dispatcher::with_default(guard.dispatch(), || {
        for i in 0..5_000 {
            tracing::info_span!("while_blocked", i).in_scope(|| {});
        }
    });
    let stats = guard.stats();
    assert_eq!(
        stats.spans.exported + stats.spans.failed,
        0,
        "the blocked export is still in flight while 5,000 spans were created: {stats:?}"
    );
    // The queue is bounded: the overflow is counted, not buffered without limit.
    assert_eq!(
        stats.spans.dropped + stats.spans.in_flight,
        5_001,
        "{stats:?}"
    );
    assert!(stats.spans.in_flight <= 2048, "{stats:?}");
}

#[test]
fn sdk_disabled_exports_nothing() {
    let receiver = FakeReceiver::start().unwrap();
    let guard = ferrotel::builder()
        .endpoint(receiver.http_endpoint())
        .global(false)
        .env_lookup(|name| (name == "OTEL_SDK_DISABLED").then(|| "true".to_string()))
        .console_format(ferrotel::ConsoleFormat::Off)
        .init()
        .unwrap();
    assert!(guard.config().sdk_disabled);
    emit(&guard, 10);
    let report = guard.shutdown();
    assert!(report.is_ok(), "{report:?}");
    assert_eq!(report.stats, ferrotel::Stats::default());
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(receiver.requests().len(), 0, "{}", receiver.summary());
}

#[test]
fn garbage_environment_never_panics_and_is_reported() {
    let garbage = [
        ("OTEL_TRACES_SAMPLER_ARG", "abc"),
        ("OTEL_TRACES_SAMPLER", "traceidratio"),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "carrier-pigeon"),
        ("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "-3"),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "::not a url::"),
        ("OTEL_EXPORTER_OTLP_HEADERS", "no-equals-sign"),
        ("OTEL_METRIC_EXPORT_INTERVAL", "soon"),
        ("RUST_LOG", "[[[invalid"),
    ];
    let guard = ferrotel::builder()
        .global(false)
        .env_lookup(move |name| {
            garbage
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        })
        .console_format(ferrotel::ConsoleFormat::Off)
        .shutdown_timeout(Duration::from_millis(500))
        .init()
        .expect("garbage configuration never fails init");
    let vars: Vec<&str> = guard
        .config()
        .warnings
        .iter()
        .map(|w| w.variable.as_str())
        .collect();
    for (var, _) in garbage.iter().filter(|(k, _)| *k != "OTEL_TRACES_SAMPLER") {
        assert!(vars.contains(var), "no warning for {var}: {vars:?}");
    }
    let text = guard.config().warnings[0].to_string();
    assert!(
        text.contains("is invalid") && text.contains("using"),
        "{text}"
    );
}
