//! Export trouble is visible and accounted for: a collector that refuses, answers errors or
//! hangs produces a rate-limited warning per signal in the service's own log and one line when
//! export recovers; at the end of shutdown every accepted record is exported or failed, and the
//! report says what failed.

use std::io::Read;
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ferrotel::{ConsoleFormat, Guard, ShutdownError};
use ferrotel_testing::{FakeReceiver, Fault};

const WAIT: Duration = Duration::from_secs(20);

type Lines = Arc<Mutex<Vec<String>>>;

/// A pipeline with JSON console output captured in `lines`, exporting soon after each record.
fn pipeline(endpoint: &str, lines: &Lines, shutdown_timeout: Duration) -> Guard {
    pipeline_with_env(endpoint, lines, shutdown_timeout, &[])
}

/// [`pipeline`] with more `OTEL_*` settings.
fn pipeline_with_env(
    endpoint: &str,
    lines: &Lines,
    shutdown_timeout: Duration,
    env: &'static [(&'static str, &'static str)],
) -> Guard {
    let sink = Arc::clone(lines);
    ferrotel::builder()
        .service_name("export-health-test")
        .endpoint(endpoint)
        .global(false)
        .env_lookup(move |name| match name {
            "OTEL_EXPORTER_OTLP_TIMEOUT" => Some("15000".to_string()),
            _ => env
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| v.to_string()),
        })
        .console_format(ConsoleFormat::Json)
        .console_writer(move |line| sink.lock().unwrap().push(line.to_string()))
        .log_filter("info")
        .span_schedule_delay(Duration::from_millis(20))
        .log_schedule_delay(Duration::from_millis(20))
        .metric_export_interval(Duration::from_secs(3600))
        .shutdown_timeout(shutdown_timeout)
        .without_runtime_metrics()
        .init()
        .expect("init")
}

/// Spans, log records and a counter, then a flush.
fn emit_and_flush(guard: &Guard, n: usize) {
    let counter = guard.meter("export-health").u64_counter("jobs").build();
    tracing::dispatcher::with_default(guard.dispatch(), || {
        for i in 0..n {
            tracing::info_span!("job", i).in_scope(|| tracing::info!("job done"));
            counter.add(1, &[]);
        }
    });
    let _ = guard.force_flush();
}

fn lines_with(lines: &Lines, text: &str) -> Vec<serde_json::Value> {
    lines
        .lock()
        .unwrap()
        .iter()
        .filter(|l| l.contains(text))
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

fn of_signal<'a>(found: &'a [serde_json::Value], signal: &str) -> Vec<&'a serde_json::Value> {
    found.iter().filter(|v| v["signal"] == signal).collect()
}

#[test]
fn an_outage_warns_once_per_interval_per_signal_and_recovery_is_one_line() {
    let receiver = FakeReceiver::start().unwrap();
    receiver.set_fault(Fault::Unavailable);
    let lines: Lines = Arc::default();
    let guard = pipeline(&receiver.http_endpoint(), &lines, Duration::from_secs(10));
    // Several failing exports within one warning interval.
    for _ in 0..4 {
        emit_and_flush(&guard, 3);
    }
    let failing = lines_with(&lines, "telemetry export failing");
    for signal in ["traces", "metrics", "logs"] {
        let w = of_signal(&failing, signal);
        assert_eq!(
            w.len(),
            1,
            "{signal}: one warning per interval: {failing:#?}"
        );
        let w = w[0];
        assert_eq!(w["level"], "WARN", "{w}");
        let destination = w["destination"].as_str().unwrap();
        assert!(
            destination.starts_with(&receiver.http_endpoint()),
            "{signal}: names the endpoint: {w}"
        );
        assert!(
            w["error"].as_str().is_some_and(|e| e.contains("503")),
            "{signal}: names the error: {w}"
        );
        assert_eq!(w["failed_exports"], 1, "{w}");
    }
    let stats = guard.stats();
    assert!(stats.spans.failed >= 12, "{stats:?}");

    receiver.clear_fault();
    emit_and_flush(&guard, 2);
    let recovered = lines_with(&lines, "telemetry export recovered");
    for signal in ["traces", "metrics", "logs"] {
        let r = of_signal(&recovered, signal);
        assert_eq!(r.len(), 1, "{signal}: one recovery line: {recovered:#?}");
        assert_eq!(r[0]["level"], "INFO", "{}", r[0]);
        assert_eq!(
            r[0]["failed_exports"], 4,
            "{signal}: the outage's exports: {}",
            r[0]
        );
    }
    // A second success says nothing more.
    emit_and_flush(&guard, 1);
    assert_eq!(lines_with(&lines, "telemetry export recovered").len(), 3);
    // The warnings are the service's console lines, not telemetry sent to the collector that
    // is failing (which would feed the outage).
    let report = guard.shutdown();
    assert!(report.is_ok(), "{report:?}");
    assert!(
        receiver
            .log_records_containing("telemetry export")
            .is_empty(),
        "export warnings were exported"
    );
}

#[test]
fn a_refused_connection_is_told_and_the_shutdown_report_says_the_last_export_failed() {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let endpoint = format!("http://127.0.0.1:{port}");
    let lines: Lines = Arc::default();
    let guard = pipeline(&endpoint, &lines, Duration::from_secs(5));
    emit_and_flush(&guard, 5);
    let failing = lines_with(&lines, "telemetry export failing");
    let traces = of_signal(&failing, "traces");
    assert_eq!(traces.len(), 1, "{failing:#?}");
    assert!(
        traces[0]["message"]
            .as_str()
            .unwrap()
            .contains(&format!("127.0.0.1:{port}")),
        "{}",
        traces[0]
    );
    emit_and_flush(&guard, 3);
    let report = guard.shutdown();
    match &report.traces {
        Err(ShutdownError::ExportFailed { records, error }) => {
            assert_eq!(*records, 8, "{report:?}");
            assert!(!error.is_empty());
        }
        other => panic!("traces: expected ExportFailed, got {other:?}"),
    }
    assert!(
        matches!(
            report.logs,
            Err(ShutdownError::ExportFailed { records: 8, .. })
        ),
        "{report:?}"
    );
    assert!(!report.is_ok());
    let s = report.stats.spans;
    assert_eq!((s.exported, s.failed, s.in_flight), (0, 8, 0), "{s:?}");
}

#[test]
fn shutdown_on_a_hung_collector_accounts_for_every_record() {
    // Accepts connections and never answers.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for mut stream in listener.incoming().take(16).flatten() {
            let _ = stream.set_read_timeout(Some(Duration::from_millis(50)));
            let _ = stream.read(&mut [0u8; 4096]);
            held.push(stream);
        }
        std::thread::sleep(Duration::from_secs(30));
    });
    let lines: Lines = Arc::default();
    let guard = pipeline(
        &format!("http://127.0.0.1:{port}"),
        &lines,
        Duration::from_millis(500),
    );
    const SPANS: u64 = 3_000;
    tracing::dispatcher::with_default(guard.dispatch(), || {
        for i in 0..SPANS {
            tracing::info_span!("held", i).in_scope(|| {});
        }
    });
    let start = Instant::now();
    let report = guard.shutdown();
    assert!(start.elapsed() < WAIT, "{:?}", start.elapsed());
    let s = report.stats.spans;
    assert_eq!(s.in_flight, 0, "nothing is left unaccounted: {s:?}");
    assert_eq!(
        s.exported + s.failed + s.dropped,
        SPANS,
        "every span is exported, failed or dropped: {s:?}"
    );
    match report.traces {
        Err(ShutdownError::Abandoned { records, .. }) => {
            assert!(records > 0);
            assert_eq!(records, s.failed, "{s:?}");
        }
        other => panic!("traces: expected Abandoned, got {other:?}"),
    }
}

#[test]
fn records_turned_away_by_a_full_queue_are_told_with_their_count() {
    let receiver = FakeReceiver::start().unwrap();
    let lines: Lines = Arc::default();
    let guard = pipeline_with_env(
        &receiver.http_endpoint(),
        &lines,
        Duration::from_secs(10),
        &[("OTEL_BSP_MAX_QUEUE_SIZE", "2")],
    );
    // Far more spans than the queue holds before the worker can export them.
    tracing::dispatcher::with_default(guard.dispatch(), || {
        for i in 0..500 {
            tracing::info_span!("burst", i).in_scope(|| {});
        }
    });
    let _ = guard.force_flush();
    let dropped = guard.stats().spans.dropped;
    assert!(dropped > 0, "the burst overflows a queue of 2");
    let told = lines_with(&lines, "telemetry dropped");
    let traces = of_signal(&told, "traces");
    assert_eq!(traces.len(), 1, "one message per interval: {told:#?}");
    assert_eq!(traces[0]["level"], "WARN", "{}", traces[0]);
    // The first message comes at the end of the first export; the burst goes on dropping
    // after it, and those are summarised by the next message, an interval later.
    let told_count = traces[0]["dropped_records"].as_u64().unwrap_or(0);
    assert!(
        told_count > 0 && told_count <= dropped,
        "{told_count} of {dropped}: {}",
        traces[0]
    );
    assert!(
        lines_with(&lines, "telemetry export failing").is_empty(),
        "the exports themselves succeed"
    );
    assert!(guard.shutdown().is_ok());
}

const STDERR_CHILD: &str = "FERROTEL_EXPORT_HEALTH_STDERR_CHILD";

/// With the console off, export trouble and configuration warnings go to stderr, one escaped
/// line each. Runs itself again as a child process (this test alone) so that its stderr can be
/// read.
#[test]
fn with_the_console_off_export_trouble_goes_to_stderr_one_escaped_line_each() {
    if std::env::var_os(STDERR_CHILD).is_some() {
        let receiver = FakeReceiver::start().unwrap();
        receiver.set_fault(Fault::Unavailable);
        // On a line of its own: libtest writes the test name before it.
        println!("\nendpoint {}", receiver.http_endpoint());
        let guard = ferrotel::builder()
            .service_name("export-health-stderr")
            .endpoint(receiver.http_endpoint())
            .global(false)
            .env_lookup(|name| {
                (name == "OTEL_PROPAGATORS").then(|| "b3\nERROR forged line".to_string())
            })
            .console_format(ConsoleFormat::Off)
            .span_schedule_delay(Duration::from_millis(20))
            .log_schedule_delay(Duration::from_millis(20))
            .metric_export_interval(Duration::from_secs(3600))
            .without_runtime_metrics()
            .init()
            .expect("init");
        emit_and_flush(&guard, 3);
        receiver.clear_fault();
        emit_and_flush(&guard, 1);
        assert!(guard.shutdown().is_ok());
        return;
    }

    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "with_the_console_off_export_trouble_goes_to_stderr_one_escaped_line_each",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(STDERR_CHILD, "1")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let (mut stdout, mut stderr) = (child.stdout.take().unwrap(), child.stderr.take().unwrap());
    let out_reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stdout.read_to_string(&mut s);
        s
    });
    let err_reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the child did not finish within 60 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let (stdout, stderr) = (out_reader.join().unwrap(), err_reader.join().unwrap());
    assert!(status.success(), "child failed:\n{stdout}\n{stderr}");
    let endpoint = stdout
        .lines()
        .find_map(|l| l.strip_prefix("endpoint "))
        .expect("the child prints its endpoint")
        .to_string();

    let ours: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("ferrotel: "))
        .collect();
    for signal in ["traces", "metrics", "logs"] {
        let failing: Vec<_> = ours
            .iter()
            .filter(|l| l.contains(&format!("telemetry export failing: {signal} to {endpoint}")))
            .collect();
        assert_eq!(failing.len(), 1, "{signal}: {stderr}");
        assert!(
            failing[0].contains("503"),
            "{signal}: names the error: {}",
            failing[0]
        );
        assert!(
            ours.iter().any(|l| l.contains(&format!(
                "telemetry export recovered: {signal} to {endpoint}"
            ))),
            "{signal}: {stderr}"
        );
    }
    // The configuration warning is one line, its newline escaped: nothing forged.
    let warning = ours
        .iter()
        .find(|l| l.contains("OTEL_PROPAGATORS"))
        .unwrap_or_else(|| panic!("no propagator warning: {stderr}"));
    assert!(warning.contains("b3\\nERROR forged line"), "{warning}");
    assert!(
        !stderr.lines().any(|l| l.starts_with("ERROR forged")),
        "{stderr}"
    );
    // The console is off: nothing of ours on stdout.
    assert!(!stdout.contains("telemetry export"), "{stdout}");
}
