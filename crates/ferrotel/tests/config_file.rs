//! Declarative configuration files, asserted on arrival at the fake receiver: the file's batch
//! size really batches, its sampler really samples, its views really rename, filter, drop and
//! re-bucket, its resource keeps its types, its headers are sent, and the report says the file
//! was used.
#![cfg(feature = "config-file")]

use std::path::PathBuf;
use std::time::Duration;

use ferrotel::Guard;
use ferrotel_testing::{AttrValue, FakeReceiver, PointValue, Signal};
use opentelemetry::KeyValue;

const WAIT: Duration = Duration::from_secs(20);

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/config_files")
        .join(name)
}

/// The SDK configured by `tests/config_files/receiver.yaml` only: the environment gives the
/// file's `${VAR}` references, nothing else.
fn from_fixture(receiver: &FakeReceiver, vars: &[(&str, &str)]) -> Guard {
    let mut vars: Vec<(String, String)> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    vars.push(("RECEIVER".into(), receiver.http_endpoint()));
    // Ignored: a file is in use.
    vars.push(("OTEL_TRACES_SAMPLER".into(), "always_off".into()));
    vars.push(("OTEL_SERVICE_NAME".into(), "from-the-environment".into()));
    ferrotel::builder()
        .global(false)
        .env_lookup(move |name| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()))
        .config_file(fixture("receiver.yaml"))
        .shutdown_timeout(Duration::from_secs(10))
        .init()
        .expect("init")
}

fn emit_spans(guard: &Guard, n: usize) {
    tracing::dispatcher::with_default(guard.dispatch(), || {
        for i in 0..n {
            tracing::info_span!("job", job.id = i as i64, a = 1, b = 2, c = 3, d = 4, e = 5)
                .in_scope(|| tracing::info!("job finished"));
        }
    });
}

#[test]
fn the_file_configures_the_whole_pipeline() {
    let receiver = FakeReceiver::start().expect("receiver");
    let guard = from_fixture(&receiver, &[("BATCH_SIZE", "10"), ("TENANT", "globex")]);
    let report = guard.config().config_file.clone().expect("file report");
    assert!(report.source.ends_with("receiver.yaml"), "{report:?}");
    assert_eq!(report.file_format, "1.1");
    assert!(
        guard.config().warnings.is_empty(),
        "{:#?}",
        guard.config().warnings
    );

    emit_spans(&guard, 25);
    let meter = guard.meter("config-file-test");
    let done = meter.u64_counter("jobs.done").build();
    let noise = meter.u64_counter("debug.noise").build();
    let duration = meter.f64_histogram("job.duration").with_unit("s").build();
    for worker in ["w1", "w2", "w3"] {
        done.add(
            2,
            &[
                KeyValue::new("queue", "default"),
                KeyValue::new("worker", worker),
            ],
        );
        noise.add(1, &[]);
        duration.record(0.5, &[]);
    }
    // Two full batches leave before any flush; the schedule delay is an hour.
    receiver
        .wait_for_blocking(WAIT, |r| r.spans_named("job").len() >= 20)
        .unwrap_or_else(|e| panic!("full batches were not sent: {e}"));
    guard.shutdown();

    let per_request: Vec<usize> = receiver
        .trace_requests()
        .iter()
        .map(|req| {
            req.resource_spans
                .iter()
                .flat_map(|rs| &rs.scope_spans)
                .map(|ss| ss.spans.len())
                .sum()
        })
        .collect();
    assert_eq!(per_request.iter().sum::<usize>(), 25, "{per_request:?}");
    assert!(per_request.iter().all(|&n| n <= 10), "{per_request:?}");
    assert!(per_request.len() >= 3, "{per_request:?}");

    // Resource: the file's types, the list, and not the environment's service name.
    let span = &receiver.spans_named("job")[0];
    assert_eq!(
        span.resource_attribute("service.name"),
        Some(&AttrValue::from("config-file-test"))
    );
    assert_eq!(
        span.resource_attribute("replicas"),
        Some(&AttrValue::Int(3))
    );
    assert_eq!(
        span.resource_attribute("canary"),
        Some(&AttrValue::Bool(true))
    );
    assert_eq!(
        span.resource_attribute("deployment.environment.name"),
        Some(&AttrValue::from("test"))
    );
    assert_eq!(
        span.resource_attribute("team"),
        Some(&AttrValue::from("payments"))
    );
    assert!(
        matches!(span.resource_attribute("zones"), Some(AttrValue::Array(items)) if items.len() == 2),
        "{:?}",
        span.resource_attribute("zones")
    );
    // Detection: the process detector only, two of its attributes excluded.
    assert!(span.resource_attribute("process.pid").is_some());
    assert!(span.resource_attribute("process.executable.name").is_some());
    assert_eq!(span.resource_attribute("process.command_args"), None);
    assert_eq!(span.resource_attribute("process.executable.path"), None);
    assert_eq!(span.resource_attribute("host.arch"), None);
    assert_eq!(span.resource_attribute("os.type"), None);
    // tracer_provider.limits.attribute_count_limit: 4
    assert!(span.attributes().len() <= 4, "{:?}", span.attributes());

    // Headers from the file, with the substituted value.
    let trace_request = receiver
        .requests()
        .into_iter()
        .find(|r| r.signal == Signal::Traces)
        .expect("a trace request");
    assert_eq!(trace_request.header("x-tenant"), Some("globex"));

    // Logs.
    assert_eq!(receiver.log_records_containing("job finished").len(), 25);

    // Views: renamed with only `queue`, dropped, re-bucketed.
    let names = receiver.metric_names();
    assert!(names.contains(&"jobs.completed".to_owned()), "{names:?}");
    assert!(!names.contains(&"jobs.done".to_owned()), "{names:?}");
    assert!(!names.contains(&"debug.noise".to_owned()), "{names:?}");
    let completed = receiver.data_points("jobs.completed");
    assert_eq!(completed.len(), 1, "{completed:?}");
    assert_eq!(completed[0].description, "Jobs finished, by queue.");
    assert_eq!(
        completed[0].attributes.keys().collect::<Vec<_>>(),
        vec!["queue"]
    );
    assert_eq!(completed[0].value.as_f64(), Some(6.0));
    let histogram = receiver.data_points("job.duration");
    match &histogram[0].value {
        PointValue::Histogram {
            explicit_bounds,
            count,
            ..
        } => {
            assert_eq!(explicit_bounds, &vec![0.1, 1.0, 10.0]);
            assert_eq!(*count, 3);
        }
        other => panic!("job.duration is not a histogram: {other:?}"),
    }
}

#[test]
fn one_batch_when_the_batch_is_larger_than_the_load() {
    let receiver = FakeReceiver::start().expect("receiver");
    let guard = from_fixture(&receiver, &[("BATCH_SIZE", "1000")]);
    emit_spans(&guard, 25);
    guard.shutdown();
    let requests = receiver.trace_requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(receiver.spans_named("job").len(), 25);
}

#[test]
fn the_file_sampler_samples() {
    let receiver = FakeReceiver::start().expect("receiver");
    let guard = from_fixture(&receiver, &[("BATCH_SIZE", "100"), ("RATIO", "0")]);
    emit_spans(&guard, 50);
    guard.shutdown();
    assert!(receiver.spans().is_empty(), "{}", receiver.summary());
    // Logs do not depend on the sampler.
    assert_eq!(receiver.log_records_containing("job finished").len(), 50);

    let receiver = FakeReceiver::start().expect("receiver");
    let guard = from_fixture(&receiver, &[("BATCH_SIZE", "100"), ("RATIO", "0.5")]);
    emit_spans(&guard, 400);
    guard.shutdown();
    let kept = receiver.spans_named("job").len();
    // Binomial(400, 0.5): outside 120..=280 has a probability below 1e-18.
    assert!((120..=280).contains(&kept), "{kept} of 400 sampled at 0.5");
}

#[test]
fn an_unusable_file_leaves_the_environment_in_charge() {
    let receiver = FakeReceiver::start().expect("receiver");
    let endpoint = receiver.http_endpoint();
    let guard = ferrotel::builder()
        .global(false)
        .env_lookup(move |name| match name {
            "OTEL_CONFIG_FILE" => Some("/nonexistent/ferrotel.yaml".into()),
            "OTEL_SERVICE_NAME" => Some("from-the-environment".into()),
            "OTEL_EXPORTER_OTLP_ENDPOINT" => Some(endpoint.clone()),
            "TELEMETRY_LOG_FORMAT" => Some("off".into()),
            _ => None,
        })
        .init()
        .expect("init");
    let config = guard.config();
    assert!(config.config_file.is_none());
    let warning = &config.warnings[0];
    assert_eq!(warning.variable, "OTEL_CONFIG_FILE");
    assert!(warning.problem.contains("cannot be opened"), "{warning}");
    emit_spans(&guard, 3);
    guard.shutdown();
    let span = &receiver.spans_named("job")[0];
    assert_eq!(
        span.resource_attribute("service.name"),
        Some(&AttrValue::from("from-the-environment"))
    );
}

#[cfg(feature = "prometheus")]
#[test]
fn the_pull_reader_serves_prometheus_on_the_files_port() {
    use std::io::{Read, Write};
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let yaml = format!(
        "file_format: \"1.1\"\n\
         meter_provider:\n  readers:\n    - pull:\n        exporter:\n          prometheus/development:\n            host: 127.0.0.1\n            port: {port}\n\
         distribution:\n  ferrotel:\n    console:\n      format: off\n"
    );
    let guard = ferrotel::builder()
        .global(false)
        .env_lookup(|_| None)
        .config_yaml(yaml)
        .init()
        .expect("init");
    assert!(
        guard.config().warnings.is_empty(),
        "{:#?}",
        guard.config().warnings
    );
    guard
        .meter("pull-test")
        .u64_counter("pulled.things")
        .build()
        .add(5, &[]);
    let scrape = || {
        let mut stream = std::net::TcpStream::connect(("127.0.0.1", port))?;
        stream.set_read_timeout(Some(Duration::from_secs(10)))?;
        stream.write_all(b"GET /metrics HTTP/1.1\r\nHost: t\r\n\r\n")?;
        let mut out = String::new();
        stream.read_to_string(&mut out)?;
        Ok::<_, std::io::Error>(out)
    };
    let body = scrape().expect("scrape");
    assert!(body.contains("pulled_things_total"), "{body}");
    assert!(body.contains(" 5"), "{body}");
    // The same port again: reported, start-up goes on.
    let second = ferrotel::builder()
        .global(false)
        .env_lookup(|_| None)
        .config_yaml(format!(
            "file_format: \"1.1\"\nmeter_provider:\n  readers:\n    - pull:\n        exporter:\n          prometheus/development:\n            host: 127.0.0.1\n            port: {port}\n"
        ))
        .console_format(ferrotel::ConsoleFormat::Off)
        .init()
        .expect("init with a port in use");
    let w = &second.config().warnings[0];
    assert!(w.problem.contains("cannot listen"), "{w}");
    second.shutdown();
    guard.shutdown();
    assert!(scrape().is_err(), "the endpoint outlived the guard");
}

#[cfg(not(feature = "prometheus"))]
#[test]
fn without_the_prometheus_feature_a_pull_reader_is_reported() {
    let guard = ferrotel::builder()
        .global(false)
        .env_lookup(|_| None)
        .config_yaml(
            "file_format: \"1.1\"\nmeter_provider:\n  readers:\n    - pull:\n        exporter:\n          prometheus/development: {}\n",
        )
        .console_format(ferrotel::ConsoleFormat::Off)
        .init()
        .expect("init");
    let w = &guard.config().warnings[0];
    assert!(w.problem.contains("`prometheus` cargo feature"), "{w}");
    assert!(w.variable.contains("prometheus/development"), "{w}");
}

/// The file's `otlp_file/development` exporters: every signal's requests land in the output
/// file as OTLP JSON lines that decode with the stock message types, every record accounted.
#[cfg(feature = "otlp-file")]
#[test]
fn the_otlp_file_exporter_writes_json_lines_of_every_signal() {
    use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
    use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
    use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;

    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("telemetry.jsonl");
    let stream = format!("file://{}", out.display());
    let yaml = format!(
        "file_format: \"1.1\"\n\
         resource:\n  attributes:\n    - name: service.name\n      value: file-export-test\n\
         tracer_provider:\n  processors:\n    - batch:\n        exporter:\n          otlp_file/development:\n            output_stream: {stream}\n\
         meter_provider:\n  readers:\n    - periodic:\n        exporter:\n          otlp_file/development:\n            output_stream: {stream}\n\
         logger_provider:\n  processors:\n    - batch:\n        exporter:\n          otlp_file/development:\n            output_stream: {stream}\n\
         distribution:\n  ferrotel:\n    console:\n      format: off\n"
    );
    let guard = ferrotel::builder()
        .global(false)
        .env_lookup(|_| None)
        .config_yaml(yaml)
        .shutdown_timeout(Duration::from_secs(10))
        .init()
        .expect("init");
    assert!(
        guard.config().warnings.is_empty(),
        "{:#?}",
        guard.config().warnings
    );
    emit_spans(&guard, 25);
    guard
        .meter("file-test")
        .u64_counter("files.written")
        .build()
        .add(3, &[KeyValue::new("kind", "jsonl")]);
    let report = guard.shutdown();
    assert!(report.is_ok(), "{report:?}");
    let stats = report.stats;
    assert_eq!((stats.spans.exported, stats.spans.failed), (25, 0));
    assert_eq!((stats.logs.exported, stats.logs.failed), (25, 0));
    assert!(stats.metric_points.exported >= 1, "{stats:?}");

    let text = std::fs::read_to_string(&out).expect("output file");
    let (mut spans, mut logs, mut counter) = (Vec::new(), Vec::new(), None);
    for line in text.lines() {
        let value: serde_json::Value = serde_json::from_str(line).expect("a JSON line");
        if value.get("resourceSpans").is_some() {
            let request: ExportTraceServiceRequest = serde_json::from_str(line).expect("traces");
            for rs in request.resource_spans {
                let service = rs.resource.expect("resource").attributes;
                assert!(format!("{service:?}").contains("file-export-test"));
                spans.extend(rs.scope_spans.into_iter().flat_map(|s| s.spans));
            }
        } else if value.get("resourceLogs").is_some() {
            let request: ExportLogsServiceRequest = serde_json::from_str(line).expect("logs");
            logs.extend(
                request
                    .resource_logs
                    .into_iter()
                    .flat_map(|r| r.scope_logs)
                    .flat_map(|s| s.log_records),
            );
        } else if value.get("resourceMetrics").is_some() {
            let request: ExportMetricsServiceRequest = serde_json::from_str(line).expect("metrics");
            for m in request
                .resource_metrics
                .into_iter()
                .flat_map(|r| r.scope_metrics)
                .flat_map(|s| s.metrics)
            {
                if m.name == "files.written" {
                    counter = Some(m);
                }
            }
        } else {
            panic!("not an OTLP request: {line}");
        }
        // The JSON mapping OTLP/JSON receivers read: hex ids, lowerCamelCase fields.
        if let Some(id) = line.split("\"traceId\":\"").nth(1) {
            let id = &id[..id.find('"').expect("closing quote")];
            assert_eq!(id.len(), 32, "{id}");
            assert!(id.bytes().all(|b| b.is_ascii_hexdigit()), "{id}");
        }
    }
    assert_eq!(spans.len(), 25);
    assert!(spans.iter().all(|s| s.name == "job"));
    assert_eq!(logs.len(), 25);
    // Each log line carries the trace and span of the span it was written in.
    for log in &logs {
        assert!(
            spans
                .iter()
                .any(|s| s.trace_id == log.trace_id && s.span_id == log.span_id),
            "log outside every exported span: {log:?}"
        );
    }
    let counter = counter.expect("the counter's line");
    assert!(format!("{counter:?}").contains("AsInt(3)"), "{counter:?}");
}

/// An output file that cannot be opened costs that signal's export, with a warning naming it.
#[cfg(feature = "otlp-file")]
#[test]
fn an_output_file_that_cannot_be_opened_is_reported() {
    let yaml = "file_format: \"1.1\"\n\
         tracer_provider:\n  processors:\n    - batch:\n        exporter:\n          otlp_file/development:\n            output_stream: file:///nonexistent-dir/traces.jsonl\n\
         distribution:\n  ferrotel:\n    console:\n      format: off\n";
    let guard = ferrotel::builder()
        .global(false)
        .env_lookup(|_| None)
        .config_yaml(yaml)
        .init()
        .expect("init goes on");
    let w = guard
        .config()
        .warnings
        .iter()
        .find(|w| w.problem.contains("/nonexistent-dir/traces.jsonl"))
        .unwrap_or_else(|| panic!("{:#?}", guard.config().warnings));
    assert!(w.fallback.contains("traces"), "{w}");
    guard.shutdown();
}
