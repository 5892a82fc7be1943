//! OTLP over TLS (feature `tls`) against the fake receiver terminating TLS with certificates
//! generated at test time: https http/protobuf, http/json and gRPC+TLS with the CA from
//! `OTEL_EXPORTER_OTLP_CERTIFICATE`, mutual TLS, an untrusted server, bad PEM files, and the
//! regression that killed the first prototype: other reqwest clients in the process must keep
//! working, and no process-wide rustls `CryptoProvider` may be installed.
#![cfg(all(feature = "tls", feature = "grpc", feature = "http-json"))]

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::time::{Duration, Instant};

use ferrotel::{Guard, Protocol};
use ferrotel_testing::{AttrValue, FakeReceiver, Signal, TestPki, TestPkiFiles, Transport};
use opentelemetry::KeyValue;

const WAIT: Duration = Duration::from_secs(20);

fn endpoint_for(receiver: &FakeReceiver, protocol: Protocol) -> String {
    match protocol {
        Protocol::Grpc => receiver.grpc_endpoint(),
        _ => receiver.http_endpoint(),
    }
}

fn transport_of(protocol: Protocol) -> Transport {
    match protocol {
        Protocol::HttpProtobuf => Transport::HttpProtobuf,
        Protocol::HttpJson => Transport::HttpJson,
        Protocol::Grpc => Transport::Grpc,
    }
}

/// A pipeline configured through the environment variables in `env` (nothing else is read).
fn pipeline(
    endpoint: &str,
    protocol: Protocol,
    env: &[(&str, String)],
    schedule_delay: Duration,
) -> Guard {
    let env: HashMap<String, String> = env
        .iter()
        .map(|(k, v)| ((*k).to_string(), v.clone()))
        .collect();
    ferrotel::builder()
        .service_name("tls-test")
        .endpoint(endpoint)
        .protocol(protocol)
        .global(false)
        .env_lookup(move |name| env.get(name).cloned())
        .console_format(ferrotel::ConsoleFormat::Off)
        .log_filter("info,ferrotel=warn")
        .span_schedule_delay(schedule_delay)
        .log_schedule_delay(schedule_delay)
        .metric_export_interval(Duration::from_secs(3600))
        .shutdown_timeout(Duration::from_secs(5))
        .init()
        .expect("init")
}

fn emit(guard: &Guard, n: u64) {
    let counter = guard.meter("tls-test").u64_counter("tls.jobs").build();
    tracing::dispatcher::with_default(guard.dispatch(), || {
        for i in 0..n {
            tracing::info_span!("tls_job", job.id = i as i64).in_scope(|| {
                tracing::info!(job.id = i as i64, "tls job finished");
            });
            counter.add(1, &[KeyValue::new("queue", "default")]);
        }
    });
}

fn assert_all_arrived(receiver: &FakeReceiver, n: usize, protocol: Protocol) {
    receiver
        .wait_for_blocking(WAIT, |r| {
            r.spans_named("tls_job").len() == n
                && r.log_records_containing("tls job finished").len() == n
                && r.counter_sum("tls.jobs", &[("queue", AttrValue::from("default"))])
                    == Some(n as f64)
        })
        .unwrap_or_else(|e| panic!("{protocol}: not everything arrived over TLS: {e}"));
    for signal in [Signal::Traces, Signal::Metrics, Signal::Logs] {
        assert!(
            receiver.request_count(signal, transport_of(protocol)) > 0,
            "{protocol}: {signal:?} did not arrive over {protocol}: {}",
            receiver.summary()
        );
    }
    assert!(
        receiver.tls_handshake_errors().is_empty(),
        "{:?}",
        receiver.tls_handshake_errors()
    );
}

fn pki_files(pki: &TestPki) -> (tempfile::TempDir, TestPkiFiles) {
    let dir = tempfile::tempdir().expect("temp dir");
    let files = pki.write_files(dir.path()).expect("write PEM files");
    (dir, files)
}

fn path(p: &std::path::Path) -> String {
    p.to_str().expect("UTF-8 temp path").to_string()
}

/// All three signals over TLS with the CA from `OTEL_EXPORTER_OTLP_CERTIFICATE`.
fn round_trip_with_env_ca(protocol: Protocol) {
    let pki = TestPki::generate().unwrap();
    let (_dir, files) = pki_files(&pki);
    let receiver = FakeReceiver::builder()
        .tls(pki.receiver_tls())
        .start()
        .unwrap();
    let endpoint = endpoint_for(&receiver, protocol);
    assert!(endpoint.starts_with("https://"), "{endpoint}");
    let guard = pipeline(
        &endpoint,
        protocol,
        &[("OTEL_EXPORTER_OTLP_CERTIFICATE", path(&files.ca))],
        Duration::from_secs(60),
    );
    assert!(
        guard.config().warnings.is_empty(),
        "{:?}",
        guard.config().warnings
    );
    assert_eq!(
        guard.config().traces.otlp.certificate.as_deref(),
        Some(files.ca.as_path())
    );
    emit(&guard, 20);
    let report = guard.shutdown();
    assert!(report.is_ok(), "{report:?}");
    assert_all_arrived(&receiver, 20, protocol);
    assert_eq!(report.stats.spans.exported, 20, "{report:?}");
    assert_eq!(report.stats.logs.exported, 20, "{report:?}");
    assert_eq!(
        report.stats.spans.failed + report.stats.logs.failed + report.stats.metric_points.failed,
        0
    );
}

#[test]
fn https_http_protobuf_delivers_spans_metrics_and_logs() {
    round_trip_with_env_ca(Protocol::HttpProtobuf);
}

#[test]
fn https_http_json_delivers_spans_metrics_and_logs() {
    round_trip_with_env_ca(Protocol::HttpJson);
}

#[test]
fn grpc_over_tls_delivers_spans_metrics_and_logs() {
    round_trip_with_env_ca(Protocol::Grpc);
}

#[test]
fn per_signal_certificate_wins_over_the_generic_one() {
    let pki = TestPki::generate().unwrap();
    let other = TestPki::generate().unwrap();
    let (_dir, files) = pki_files(&pki);
    let (_other_dir, other_files) = pki_files(&other);
    let receiver = FakeReceiver::builder()
        .tls(pki.receiver_tls())
        .start()
        .unwrap();
    // The generic CA is the wrong one; only traces get the right one.
    let guard = pipeline(
        &receiver.http_endpoint(),
        Protocol::HttpProtobuf,
        &[
            ("OTEL_EXPORTER_OTLP_CERTIFICATE", path(&other_files.ca)),
            ("OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE", path(&files.ca)),
            ("OTEL_EXPORTER_OTLP_TIMEOUT", "2000".to_string()),
        ],
        Duration::from_secs(60),
    );
    emit(&guard, 3);
    let report = guard.shutdown();
    assert_eq!(report.stats.spans.exported, 3, "{report:?}");
    assert_eq!(report.stats.logs.exported, 0, "{report:?}");
    assert!(report.stats.logs.failed > 0, "{report:?}");
    assert_eq!(receiver.spans_named("tls_job").len(), 3);
    assert!(receiver.log_records().is_empty(), "{}", receiver.summary());
}

/// Mutual TLS: the receiver refuses clients without a certificate from its CA.
fn mtls_round_trip(protocol: Protocol) {
    let pki = TestPki::generate().unwrap();
    let (_dir, files) = pki_files(&pki);
    let receiver = FakeReceiver::builder()
        .tls(pki.receiver_mtls())
        .start()
        .unwrap();
    let guard = pipeline(
        &endpoint_for(&receiver, protocol),
        protocol,
        &[
            ("OTEL_EXPORTER_OTLP_CERTIFICATE", path(&files.ca)),
            (
                "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE",
                path(&files.client_cert),
            ),
            ("OTEL_EXPORTER_OTLP_CLIENT_KEY", path(&files.client_key)),
        ],
        Duration::from_secs(60),
    );
    assert!(
        guard.config().warnings.is_empty(),
        "{:?}",
        guard.config().warnings
    );
    assert!(guard.config().logs.otlp.tls.has_client_identity());
    emit(&guard, 10);
    let report = guard.shutdown();
    assert!(report.is_ok(), "{report:?}");
    assert_all_arrived(&receiver, 10, protocol);
}

#[test]
fn mtls_http_protobuf_with_client_certificate_and_key() {
    mtls_round_trip(Protocol::HttpProtobuf);
}

#[test]
fn mtls_grpc_with_client_certificate_and_key() {
    mtls_round_trip(Protocol::Grpc);
}

#[test]
fn mtls_builder_pem_methods_work_like_the_variables() {
    let pki = TestPki::generate().unwrap();
    let receiver = FakeReceiver::builder()
        .tls(pki.receiver_mtls())
        .start()
        .unwrap();
    let guard = ferrotel::builder()
        .endpoint(receiver.http_endpoint())
        .tls_ca_pem(pki.ca_pem())
        .tls_client_identity_pem(pki.client_cert_pem(), pki.client_key_pem())
        .global(false)
        .env_lookup(|_| None)
        .console_format(ferrotel::ConsoleFormat::Off)
        .shutdown_timeout(Duration::from_secs(5))
        .init()
        .unwrap();
    assert!(
        guard.config().warnings.is_empty(),
        "{:?}",
        guard.config().warnings
    );
    emit(&guard, 2);
    let report = guard.shutdown();
    assert!(report.is_ok(), "{report:?}");
    assert_eq!(report.stats.spans.exported, 2, "{report:?}");
    assert_eq!(receiver.spans_named("tls_job").len(), 2);
}

/// Waits (bounded) until the first span export has failed.
fn wait_for_failed_span_export(guard: &Guard) {
    let deadline = Instant::now() + WAIT;
    while guard.stats().spans.failed == 0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// An export that cannot complete its handshake fails, is counted, and shutdown still returns
/// within its timeout.
fn assert_refused(receiver: &FakeReceiver, protocol: Protocol, env: &[(&str, String)]) {
    let mut env = env.to_vec();
    env.push(("OTEL_EXPORTER_OTLP_TIMEOUT", "1000".to_string()));
    let guard = pipeline(
        &endpoint_for(receiver, protocol),
        protocol,
        &env,
        Duration::from_millis(20),
    );
    emit(&guard, 5);
    wait_for_failed_span_export(&guard);
    let stats = guard.stats();
    assert!(stats.spans.failed > 0, "{protocol}: {stats:?}");
    assert_eq!(stats.spans.exported, 0, "{protocol}: {stats:?}");
    let report = guard.shutdown();
    // Bounded: the shutdown timeout (5 s) plus scheduling slack, never the retry schedule.
    assert!(
        report.elapsed < Duration::from_secs(10),
        "{protocol}: shutdown took {:?}",
        report.elapsed
    );
    assert_eq!(report.stats.spans.exported, 0, "{report:?}");
    assert_eq!(report.stats.logs.exported, 0, "{report:?}");
    assert!(receiver.spans().is_empty(), "{}", receiver.summary());
    assert!(receiver.requests().is_empty(), "{}", receiver.summary());
    assert!(
        !receiver.tls_handshake_errors().is_empty(),
        "the receiver saw no failed handshake: {}",
        receiver.summary()
    );
}

#[test]
fn untrusted_server_certificate_makes_exports_fail_without_panic() {
    let pki = TestPki::generate().unwrap();
    let stranger = TestPki::generate().unwrap();
    let (_dir, stranger_files) = pki_files(&stranger);
    for protocol in [Protocol::HttpProtobuf, Protocol::Grpc] {
        let receiver = FakeReceiver::builder()
            .tls(pki.receiver_tls())
            .start()
            .unwrap();
        // The exporter trusts another CA only.
        assert_refused(
            &receiver,
            protocol,
            &[("OTEL_EXPORTER_OTLP_CERTIFICATE", path(&stranger_files.ca))],
        );
    }
}

#[test]
fn mtls_server_refuses_an_exporter_without_client_certificate() {
    let pki = TestPki::generate().unwrap();
    let (_dir, files) = pki_files(&pki);
    for protocol in [Protocol::HttpProtobuf, Protocol::Grpc] {
        let receiver = FakeReceiver::builder()
            .tls(pki.receiver_mtls())
            .start()
            .unwrap();
        assert_refused(
            &receiver,
            protocol,
            &[("OTEL_EXPORTER_OTLP_CERTIFICATE", path(&files.ca))],
        );
    }
}

/// A server that accepts TCP connections and never answers the TLS handshake.
fn silent_server() -> (u16, std::sync::mpsc::Sender<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (stop, stopped) = std::sync::mpsc::channel::<()>();
    listener.set_nonblocking(true).unwrap();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(60);
        while stopped.try_recv().is_err() && Instant::now() < deadline {
            match listener.accept() {
                Ok((stream, _)) => held.push(stream),
                Err(_) => std::thread::sleep(Duration::from_millis(10)),
            }
        }
    });
    (port, stop)
}

#[test]
fn export_timeout_bounds_a_tls_handshake_that_never_completes() {
    let pki = TestPki::generate().unwrap();
    let (_dir, files) = pki_files(&pki);
    for protocol in [Protocol::HttpProtobuf, Protocol::Grpc] {
        let (port, stop) = silent_server();
        let guard = pipeline(
            &format!("https://127.0.0.1:{port}"),
            protocol,
            &[
                ("OTEL_EXPORTER_OTLP_CERTIFICATE", path(&files.ca)),
                ("OTEL_EXPORTER_OTLP_TIMEOUT", "300".to_string()),
            ],
            Duration::from_millis(20),
        );
        emit(&guard, 1);
        // Without a timeout around connection and handshake the export would hang and never be
        // counted; the wait itself is bounded.
        wait_for_failed_span_export(&guard);
        assert_eq!(
            guard.stats().spans.failed,
            1,
            "{protocol}: {:?}",
            guard.stats()
        );
        let report = guard.shutdown();
        assert_eq!(report.stats.spans.exported, 0, "{report:?}");
        let _ = stop.send(());
    }
}

#[test]
fn invalid_or_unreadable_pem_files_are_warnings_and_init_succeeds() {
    let pki = TestPki::generate().unwrap();
    let (dir, files) = pki_files(&pki);
    let garbage = dir.path().join("garbage.pem");
    std::fs::write(&garbage, "not a certificate\n").unwrap();
    let missing = dir.path().join("missing.pem");
    let other = TestPki::generate().unwrap();
    let other_key = dir.path().join("other.key");
    std::fs::write(&other_key, other.client_key_pem()).unwrap();
    let env = [
        ("OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE", path(&garbage)),
        ("OTEL_EXPORTER_OTLP_METRICS_CERTIFICATE", path(&missing)),
        (
            "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE",
            path(&files.client_cert),
        ),
        // A key that belongs to another certificate.
        ("OTEL_EXPORTER_OTLP_CLIENT_KEY", path(&other_key)),
    ];
    let guard = pipeline(
        "https://127.0.0.1:9",
        Protocol::HttpProtobuf,
        &env,
        Duration::from_secs(60),
    );
    let warnings = &guard.config().warnings;
    let find = |var: &str| {
        warnings
            .iter()
            .find(|w| w.variable == var)
            .unwrap_or_else(|| panic!("no warning for {var}: {warnings:?}"))
    };
    let w = find("OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE");
    assert_eq!(w.value, path(&garbage));
    assert!(w.problem.contains("no PEM certificate"), "{w}");
    assert_eq!(w.fallback, "the system roots");
    let w = find("OTEL_EXPORTER_OTLP_METRICS_CERTIFICATE");
    assert_eq!(w.value, path(&missing));
    assert!(w.problem.contains("cannot read the file"), "{w}");
    let w = find("OTEL_EXPORTER_OTLP_CLIENT_KEY");
    assert_eq!(w.value, path(&other_key));
    assert!(w.problem.contains("does not match"), "{w}");
    assert!(w.fallback.contains("no client certificate"), "{w}");
    assert!(!guard.config().traces.otlp.tls.has_client_identity());
    assert_eq!(guard.config().traces.otlp.certificate, None);
    let report = guard.shutdown();
    assert!(report.elapsed < Duration::from_secs(10), "{report:?}");
}

/// A plain HTTP/1.1 server on a free loopback port answering `requests` GETs with `body`.
fn plain_http_server(body: &'static str, requests: usize) -> (u16, std::thread::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let handle = std::thread::spawn(move || {
        for stream in listener.incoming().take(requests) {
            let Ok(mut stream) = stream else { continue };
            let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
            let mut buf = [0u8; 4096];
            let mut seen = Vec::new();
            while !seen.windows(4).any(|w| w == b"\r\n\r\n") {
                match stream.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => seen.extend_from_slice(&buf[..n]),
                }
            }
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    (port, handle)
}

#[test]
fn default_reqwest_clients_still_work_after_tls_export_and_no_provider_is_installed() {
    let pki = TestPki::generate().unwrap();
    let (_dir, files) = pki_files(&pki);
    let receiver = FakeReceiver::builder()
        .tls(pki.receiver_tls())
        .start()
        .unwrap();
    let guard = pipeline(
        &receiver.http_endpoint(),
        Protocol::HttpProtobuf,
        &[("OTEL_EXPORTER_OTLP_CERTIFICATE", path(&files.ca))],
        Duration::from_secs(60),
    );
    emit(&guard, 1);
    guard.force_flush();
    receiver
        .wait_for_blocking(WAIT, |r| r.span_named("tls_job").is_some())
        .unwrap();

    // Our TLS connections carry their own provider: the process default stays unset.
    assert!(
        rustls::crypto::CryptoProvider::get_default().is_none(),
        "telemetry installed a process-wide rustls CryptoProvider"
    );

    let (port, server) = plain_http_server("plain ok", 2);
    let url = format!("http://127.0.0.1:{port}/");
    // Built with default settings, as the host application would.
    let blocking = reqwest::blocking::Client::new();
    let text = blocking.get(&url).send().unwrap().text().unwrap();
    assert_eq!(text, "plain ok");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let text = rt.block_on(async {
        let client = reqwest::Client::new();
        client.get(&url).send().await?.text().await
    });
    assert_eq!(text.unwrap(), "plain ok");
    server.join().unwrap();

    // Telemetry keeps exporting over TLS afterwards.
    emit(&guard, 1);
    let report = guard.shutdown();
    assert!(report.is_ok(), "{report:?}");
    assert_eq!(report.stats.spans.exported, 2, "{report:?}");
    assert!(rustls::crypto::CryptoProvider::get_default().is_none());
}
