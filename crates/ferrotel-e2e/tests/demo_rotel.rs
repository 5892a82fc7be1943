//! The contextd demo through a real collector: demo -> rotel (OTLP over HTTP, and over gRPC)
//! -> fake receiver (rotel's OTLP exporter). Proves, on what arrives: all 31 catalog
//! instruments, the span tree with the seeds' attributes, log records carrying trace ids, the
//! resource, exact delivery of everything emitted before SIGTERM, and that none of the secrets
//! the demo plants in attributes and logs reaches the collector.
//!
//! Needs `rotel-agent` (`pip install rotel==0.0.1a15`); a missing binary fails these tests.

mod demo_support;

use std::collections::BTreeSet;
use std::time::Duration;

use demo_support::{Demo, catalog_names, fast_export_env, u64_at};
use ferrotel_e2e::{ExportProtocol, Rotel};
use ferrotel_testing::{AttrValue, FakeReceiver, ReceivedSpan, Signal};

const ARRIVAL: Duration = Duration::from_secs(30);

fn missing_instruments(receiver: &FakeReceiver) -> Vec<&'static str> {
    let got: BTreeSet<String> = receiver.metric_names().into_iter().collect();
    catalog_names()
        .into_iter()
        .filter(|n| !got.contains(*n))
        .collect()
}

/// Every operation the demo's load exercises, by span name. The load picks operations at
/// random, so tests that stop the demo early wait until each has been seen.
const EXPECTED_SPANS: [&str; 16] = [
    "POST /mcp/tools/{tool}",
    "POST /v1/skills",
    "POST /v1/skills/{id}/apply",
    "mcp.tool_call",
    "checkpoint.save",
    "checkpoint.search",
    "checkpoint.list",
    "remediation.save",
    "remediation.search",
    "skill.create",
    "skill.apply",
    "embedding.generate",
    "vectordb.insert",
    "vectordb.search",
    "vectordb.get",
    "contextd.startup",
];

fn missing_spans(receiver: &FakeReceiver) -> Vec<&'static str> {
    let spans = receiver.spans();
    let names: BTreeSet<&str> = spans.iter().map(ReceivedSpan::name).collect();
    EXPECTED_SPANS
        .into_iter()
        .filter(|n| !names.contains(n))
        .collect()
}

fn parent<'a>(spans: &'a [ReceivedSpan], child: &ReceivedSpan) -> Option<&'a ReceivedSpan> {
    spans.iter().find(|p| child.is_child_of(p))
}

/// The span tree of one MCP call: HTTP server span -> mcp.tool_call -> checkpoint.search ->
/// embedding.generate and vectordb.search; with the seeds' attributes.
fn assert_span_tree(receiver: &FakeReceiver) {
    let spans = receiver.spans();
    let names: BTreeSet<&str> = spans.iter().map(ReceivedSpan::name).collect();
    for expected in EXPECTED_SPANS {
        assert!(
            names.contains(expected),
            "no span {expected:?}; got {names:?}"
        );
    }
    // A checkpoint.search with both children, under mcp.tool_call, under the server span.
    let search = spans
        .iter()
        .filter(|s| s.name() == "checkpoint.search")
        .find(|s| {
            let kids: Vec<&str> = spans
                .iter()
                .filter(|c| c.is_child_of(s))
                .map(ReceivedSpan::name)
                .collect();
            kids.contains(&"embedding.generate") && kids.contains(&"vectordb.search")
        })
        .expect("a checkpoint.search span with embedding.generate and vectordb.search children");
    let tool = parent(&spans, search).expect("checkpoint.search has a received parent");
    assert_eq!(tool.name(), "mcp.tool_call");
    assert_eq!(
        tool.attribute("tool_name")
            .and_then(|v| v.as_str().map(str::to_owned)),
        Some("checkpoint_search".to_owned())
    );
    let server = parent(&spans, tool).expect("mcp.tool_call has a received parent");
    assert_eq!(server.name(), "POST /mcp/tools/{tool}");
    assert_eq!(
        server.kind(),
        ferrotel_testing::proto::trace::v1::span::SpanKind::Server,
        "the HTTP span is a server span"
    );
    assert!(
        parent(&spans, server).is_none(),
        "the server span is the root"
    );
    assert_eq!(search.trace_id(), server.trace_id());
    // Seed attributes: top_k (int) and project_path (home directory redacted).
    assert!(
        matches!(search.attribute("top_k"), Some(AttrValue::Int(k)) if (3..8).contains(&k)),
        "{:?}",
        search.attributes()
    );
    assert_eq!(
        search
            .attribute("project_path")
            .and_then(|v| v.as_str().map(str::to_owned)),
        Some("/home/[REDACTED:username]/projects/contextd".to_owned())
    );
    let save = receiver
        .span_named("checkpoint.save")
        .expect("checkpoint.save");
    assert!(
        save.attribute("checkpoint_id")
            .and_then(|v| v.as_str().map(|s| s.starts_with("ckpt-")))
            .unwrap_or(false),
        "{:?}",
        save.attributes()
    );
    // Failed vector-database operations are error spans with error.type.
    let failed: Vec<&ReceivedSpan> = spans
        .iter()
        .filter(|s| s.name().starts_with("vectordb.") && s.attribute("error.type").is_some())
        .collect();
    for s in &failed {
        assert_eq!(
            s.status().map(|st| st.code),
            Some(2),
            "error span status: {:?}",
            s.status()
        );
    }
}

/// Log records carry the trace and span ids of the span they were emitted in.
fn assert_logs_correlated(receiver: &FakeReceiver) {
    let spans = receiver.spans();
    let saved = receiver.log_records_containing("checkpoint saved");
    assert!(!saved.is_empty(), "no 'checkpoint saved' log record");
    for rec in &saved {
        let (trace, span) = (
            rec.trace_id().expect("log record has a trace id"),
            rec.span_id().expect("log record has a span id"),
        );
        let owner = spans
            .iter()
            .find(|s| s.span_id() == span)
            .unwrap_or_else(|| panic!("no received span {span} for the log record"));
        assert_eq!(owner.name(), "checkpoint.save");
        assert_eq!(owner.trace_id(), trace);
    }
}

fn assert_resource(receiver: &FakeReceiver) {
    for signal in Signal::ALL {
        let res = receiver
            .resources(signal)
            .into_iter()
            .next()
            .unwrap_or_else(|| panic!("no {signal} resource"));
        assert_eq!(
            res.get_str("service.name"),
            Some("contextd"),
            "{signal}: {res:?}"
        );
        assert_eq!(
            res.get_str("service.version"),
            Some(env!("CARGO_PKG_VERSION"))
        );
        assert_eq!(res.get_str("deployment.environment.name"), Some("demo"));
        assert!(res.contains_key("service.instance.id"), "{signal}: {res:?}");
        assert_eq!(res.get_str("telemetry.sdk.language"), Some("rust"));
    }
}

/// None of the planted secrets is anywhere in what the collector forwarded, and redaction
/// markers show the values were sent (redacted), not simply absent.
fn assert_no_secrets(receiver: &FakeReceiver, summary: &serde_json::Value, console: &str) {
    let everything = format!(
        "{:?}\n{:?}\n{:?}",
        receiver.trace_requests(),
        receiver.logs_requests(),
        receiver.metrics_requests()
    );
    let secrets = summary["planted_secrets"]
        .as_object()
        .expect("summary lists the planted secrets");
    assert_eq!(secrets.len(), 4);
    // Seed 000: text is redacted before embedding. The warm-up saves a note holding the key and
    // a home path; the provider saw texts, none with a planted value.
    let provider = &summary["embedding_provider"];
    assert!(
        provider["texts_received"].as_u64().unwrap_or(0) > 0,
        "{provider:#}"
    );
    assert_eq!(provider["planted_secret_received"], false, "{provider:#}");
    assert!(
        summary["totals"]["embedding_texts_redacted"]
            .as_u64()
            .unwrap_or(0)
            >= 1,
        "the careless note was not redacted before embedding: {:#}",
        summary["totals"]
    );
    for (what, value) in secrets {
        let value = value.as_str().expect("secret is a string");
        assert!(value.len() >= 6, "{what} = {value:?}");
        assert!(
            !everything.contains(value),
            "planted {what} reached the collector"
        );
        assert!(
            !console.contains(value),
            "planted {what} printed on the console"
        );
    }
    for marker in [
        "[REDACTED:openai_api_key]",
        "[REDACTED:bearer_token]",
        "[REDACTED:username]",
    ] {
        assert!(
            everything.contains(marker),
            "no {marker} in the exported data"
        );
    }
    // The database URL keeps its shape with the credentials removed.
    assert!(
        everything.contains("@127.0.0.1:6333/collections") && everything.contains("REDACTED"),
        "redacted database URL not exported"
    );
}

/// What the demo emitted (its own summary) arrived exactly once: every span and log record,
/// and the final value of its counters.
fn assert_everything_delivered(receiver: &FakeReceiver, summary: &serde_json::Value) {
    let spans = u64_at(summary, &["telemetry", "spans", "emitted"]);
    let logs = u64_at(summary, &["telemetry", "logs", "emitted"]);
    assert!(spans > 100 && logs > 5, "too little traffic: {summary:#}");
    for signal in ["spans", "logs", "metric_points"] {
        assert_eq!(
            u64_at(summary, &["telemetry", signal, "failed"]),
            0,
            "{signal}: {summary:#}"
        );
        assert_eq!(
            u64_at(summary, &["telemetry", signal, "dropped"]),
            0,
            "{signal}"
        );
        assert_eq!(
            u64_at(summary, &["telemetry", signal, "in_flight"]),
            0,
            "{signal}"
        );
    }
    assert_eq!(u64_at(summary, &["telemetry", "spans", "exported"]), spans);
    assert_eq!(u64_at(summary, &["telemetry", "logs", "exported"]), logs);
    receiver
        .wait_for_blocking(ARRIVAL, |r| {
            r.spans().len() as u64 >= spans && r.log_records().len() as u64 >= logs
        })
        .unwrap_or_else(|e| panic!("not everything arrived: {e}"));
    // Give a duplicate a chance to show up, then demand exact counts.
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(
        receiver.spans().len() as u64,
        spans,
        "spans emitted vs received"
    );
    assert_eq!(
        receiver.log_records().len() as u64,
        logs,
        "logs emitted vs received"
    );
    for (metric, total) in [
        ("contextd_mcp_tool_calls_total", "mcp_tool_calls"),
        ("contextd_embedding_operations_total", "embedding_calls"),
        ("contextd_embedding_tokens_total", "embedding_tokens"),
        ("contextd_database_operations_total", "database_operations"),
        ("contextd_database_errors_total", "database_errors"),
        ("contextd_skill_operations_total", "skill_operations"),
    ] {
        let expected = u64_at(summary, &["totals", total]);
        let got = receiver.counter_sum(metric, &[]).unwrap_or(0.0);
        assert_eq!(
            got as u64, expected,
            "{metric}: final value at the collector"
        );
    }
    let tool_calls = u64_at(summary, &["totals", "mcp_tool_calls"]);
    assert_eq!(
        receiver
            .histogram_count("contextd_mcp_tool_duration_seconds", &[])
            .unwrap_or(0),
        tool_calls
    );
}

#[test]
fn demo_via_rotel_over_http_delivers_everything_emitted_before_sigterm() {
    let receiver = FakeReceiver::start().unwrap();
    let rotel = Rotel::builder()
        .export_to(receiver.grpc_endpoint(), ExportProtocol::Grpc)
        .start()
        .unwrap_or_else(|e| panic!("{e}"));
    let mut env = fast_export_env();
    env.push(("OTEL_EXPORTER_OTLP_ENDPOINT", rotel.http_endpoint()));
    env.push(("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf".into()));
    let mut demo = Demo::start(&["--rate", "40"], &env);

    receiver
        .wait_for_blocking(ARRIVAL, |r| {
            missing_instruments(r).is_empty() && missing_spans(r).is_empty()
        })
        .unwrap_or_else(|e| {
            panic!(
                "missing instruments {:?}, spans {:?}: {e}",
                missing_instruments(&receiver),
                missing_spans(&receiver)
            )
        });
    demo.proc.sigterm();
    let status = demo.proc.wait_exit(Duration::from_secs(30));
    assert!(status.success(), "{status}\n{}", demo.proc.output());
    let summary = demo.summary();
    assert_eq!(summary["run"]["stopped_by"], "SIGTERM");
    assert_eq!(summary["shutdown"]["traces"], "ok", "{summary:#}");
    assert_eq!(summary["shutdown"]["metrics"], "ok", "{summary:#}");
    assert_eq!(summary["shutdown"]["logs"], "ok", "{summary:#}");
    assert_eq!(
        summary["instruments"]["missing"].as_array().map(Vec::len),
        Some(0),
        "{summary:#}"
    );

    assert_everything_delivered(&receiver, &summary);
    assert_span_tree(&receiver);
    assert_logs_correlated(&receiver);
    assert_resource(&receiver);
    assert_no_secrets(&receiver, &summary, &demo.proc.stdout.text());
    drop(rotel);
}

#[test]
fn demo_via_rotel_over_grpc() {
    let receiver = FakeReceiver::start().unwrap();
    let rotel = Rotel::builder()
        .export_to(receiver.http_endpoint(), ExportProtocol::Http)
        .start()
        .unwrap_or_else(|e| panic!("{e}"));
    let mut env = fast_export_env();
    env.push(("OTEL_EXPORTER_OTLP_ENDPOINT", rotel.grpc_endpoint()));
    env.push(("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc".into()));
    let mut demo = Demo::start(&["--rate", "40", "--duration", "5s"], &env);
    let status = demo.proc.wait_exit(Duration::from_secs(60));
    assert!(status.success(), "{status}\n{}", demo.proc.output());
    let summary = demo.summary();
    assert_eq!(summary["run"]["stopped_by"], "duration");
    assert!(
        summary["export"]["endpoints"]["traces"]
            .as_str()
            .is_some_and(|t| t.contains("grpc")),
        "{summary:#}"
    );
    receiver
        .wait_for_blocking(ARRIVAL, |r| missing_instruments(r).is_empty())
        .unwrap_or_else(|e| {
            panic!(
                "missing instruments {:?}: {e}",
                missing_instruments(&receiver)
            )
        });
    assert_everything_delivered(&receiver, &summary);
    assert_span_tree(&receiver);
    assert_logs_correlated(&receiver);
    assert_resource(&receiver);
    assert_no_secrets(&receiver, &summary, &demo.proc.stdout.text());
    drop(rotel);
}
