//! The contextd catalog through the in-memory exporter: names, kinds, units, attributes,
//! buckets, Prometheus names, concurrency, cardinality and bad input.

// The metric-reading helpers of the mechanism crate's tests, shared rather than copied.
#[path = "../../ferrotel-meters/tests/common/mod.rs"]
mod common;

use std::sync::Arc;
use std::time::Duration;

use common::Pipeline;
use ferrotel_catalog::PriceTable;
use ferrotel_catalog::contextd::*;
use ferrotel_meters::{
    InstrumentKind, LabelValues, ValueType, cardinality_views, prometheus_name,
    rejected_float_counter_values,
};

/// The 31 Prometheus names of `shared/spec/instruments.md`, by number.
const SPEC_NAMES: [(u8, &str); 31] = [
    (1, "contextd_mcp_tool_calls_total"),
    (2, "contextd_mcp_tool_duration_seconds"),
    (3, "contextd_checkpoints_total"),
    (4, "contextd_checkpoint_operations_total"),
    (5, "contextd_checkpoint_duration_seconds"),
    (6, "contextd_checkpoint_search_score"),
    (7, "contextd_remediations_total"),
    (8, "contextd_remediation_operations_total"),
    (9, "contextd_remediation_match_score"),
    (10, "contextd_remediation_duration_seconds"),
    (11, "contextd_skills_total"),
    (12, "contextd_skill_operations_total"),
    (13, "contextd_skill_success_rate"),
    (14, "contextd_skill_duration_seconds"),
    (15, "contextd_embedding_duration_seconds"),
    (16, "contextd_embedding_operations_total"),
    (17, "contextd_embedding_tokens_total"),
    (18, "contextd_embedding_cost_total"),
    (19, "contextd_database_operations_total"),
    (20, "contextd_database_duration_seconds"),
    (21, "contextd_database_errors_total"),
    (22, "rust_memory_heap_live_bytes"),
    (23, "rust_memory_heap_mapped_bytes"),
    (24, "tokio_runtime_stall_duration_seconds"),
    (25, "tokio_runtime_alive_tasks"),
    (26, "contextd_test_coverage_percent"),
    (27, "contextd_tests_total"),
    (28, "contextd_bugs_total"),
    (29, "contextd_regression_tests_total"),
    (30, "http_server_request_duration_seconds"),
    (31, "http_server_requests_total"),
];

#[test]
fn all_31_prometheus_names_survive_translation() {
    assert_eq!(CATALOG.len(), 31);
    for ((num, spec), entry) in SPEC_NAMES.iter().zip(CATALOG.iter()) {
        assert_eq!(entry.number, *num);
        let d = entry.descriptor;
        let translated = prometheus_name(d.name, d.unit, d.kind);
        assert_eq!(translated, *spec, "#{num} {} ({})", d.name, d.unit);
        if entry.implemented_by == Implementer::Catalog {
            // Contract: the 25 contextd_* instruments use the Prometheus name as OTel name.
            assert_eq!(d.name, *spec, "#{num}");
        }
    }
    // Counts stated by the spec: 10 counters, 10 histograms, 11 gauges.
    let count = |pred: fn(InstrumentKind) -> bool| {
        CATALOG.iter().filter(|e| pred(e.descriptor.kind)).count()
    };
    assert_eq!(count(|k| k == InstrumentKind::Counter), 10);
    assert_eq!(count(|k| k == InstrumentKind::Histogram), 10);
    assert_eq!(count(|k| k == InstrumentKind::ObservableGauge), 11);
    // The two unit choices that keep names stable; the spec units would break them.
    assert_eq!(
        prometheus_name(
            "contextd_embedding_cost_total",
            "USD",
            InstrumentKind::Counter
        ),
        "contextd_embedding_cost_USD_total"
    );
    assert_eq!(
        prometheus_name(
            "contextd_skill_success_rate",
            "1",
            InstrumentKind::ObservableGauge
        ),
        "contextd_skill_success_rate_ratio"
    );
    assert!(find("contextd_bugs_total").is_some());
    assert_eq!(find("http.server.requests").map(|e| e.number), Some(31));
    assert_eq!(
        find("http_server_requests_total").map(|e| e.number),
        Some(31)
    );
}

/// Records every one of the 25 instruments, then checks each exported metric against its
/// descriptor: name, kind, number type, unit, description, attribute keys and values, buckets.
#[test]
fn every_contextd_instrument_is_exported_as_declared() {
    let p = Pipeline::with_view(cardinality_views(DESCRIPTORS));
    let m = ContextdMeters::new(&p.meter());
    let model = "text-embedding-3-small";
    m.mcp_tool_calls
        .add(2, (Tool::CheckpointSave, Status::Success));
    m.mcp_tool_duration.record(0.02, Tool::CheckpointSave);
    m.checkpoint_operations.add(1, CheckpointOp::Create);
    m.checkpoint_duration.record(0.3, CheckpointOp::Create);
    m.checkpoint_search_score.record(0.87, ());
    m.remediation_operations.add(1, RemediationOp::Save);
    m.remediation_match_score.record(0.5, ());
    m.remediation_duration.record(0.1, RemediationOp::Search);
    m.skill_operations.add(1, SkillOp::Apply);
    m.skill_duration.record(1.5, SkillOp::Apply);
    m.record_embedding(
        Provider::OpenAi,
        model,
        1_000_000,
        Duration::from_millis(120),
        &PriceTable::openai_defaults(),
    );
    m.database_operations
        .add(1, (DbOp::Insert, "shared", Collection::Checkpoints));
    m.database_duration.record(0.004, (DbOp::Insert, "shared"));
    m.database_errors
        .add(1, (DbErrorType::QueryFailed, "project_ab12"));
    m.checkpoints_total.register_value(|| 12u64);
    m.remediations_total.register_value(|| Some(3u64));
    m.skills_total
        .register_value(|| Ok::<u64, std::io::Error>(5));
    m.skill_success_rate.register(|o| {
        o.observe(0.75, "skill-a");
        o.observe(1.0, "skill-b");
        Ok(())
    });
    m.test_coverage_percent.register_value(|| 68.4f64);
    m.tests_total.register(|o| {
        for (i, t) in TestType::ALL.iter().enumerate() {
            o.observe(10 * (i as u64 + 1), *t);
        }
        Ok(())
    });
    m.bugs_total.register(|o| {
        o.observe(2, (Severity::High, BugStatus::Open));
        Ok(())
    });
    m.regression_tests_total.register(|o| {
        o.observe(7, RegressionCategory::Security);
        Ok(())
    });

    let exported = p.collect();
    for d in DESCRIPTORS {
        let e = exported
            .get(d.name)
            .unwrap_or_else(|| panic!("{} not exported", d.name));
        assert_eq!(e.unit, d.unit, "{}", d.name);
        assert_eq!(e.description, d.description, "{}", d.name);
        let kind = match d.kind {
            InstrumentKind::Counter | InstrumentKind::ObservableCounter => "counter",
            InstrumentKind::UpDownCounter | InstrumentKind::ObservableUpDownCounter => {
                "updowncounter"
            }
            InstrumentKind::Histogram => "histogram",
            InstrumentKind::Gauge | InstrumentKind::ObservableGauge => "gauge",
        };
        assert_eq!(e.kind, kind, "{}", d.name);
        let number = match d.value_type {
            ValueType::U64 => "u64",
            ValueType::I64 => "i64",
            ValueType::F64 => "f64",
        };
        assert_eq!(e.number, number, "{}", d.name);
        assert!(!e.points.is_empty(), "{} has no points", d.name);
        for point in &e.points {
            let keys: Vec<&str> = point.attrs.keys().map(String::as_str).collect();
            let mut want: Vec<&str> = d.labels.iter().map(|l| l.key).collect();
            want.sort_unstable();
            assert_eq!(keys, want, "{} attribute keys", d.name);
            for l in d.labels {
                if let LabelValues::Closed(allowed) = l.values {
                    assert!(allowed.contains(&point.attrs[l.key].as_str()), "{}", d.name);
                }
            }
            if let Some(b) = d.buckets {
                assert_eq!(point.bounds, b.to_vec(), "{} buckets", d.name);
            }
        }
    }
    // Spot-check values.
    let calls = &exported["contextd_mcp_tool_calls_total"];
    let pt = calls
        .point(&[("tool_name", "checkpoint_save"), ("status", "success")])
        .expect("series");
    assert_eq!(pt.value, 2.0);
    let cost = &exported["contextd_embedding_cost_total"];
    assert!((cost.point(&[("model", model)]).unwrap().value - 0.02).abs() < 1e-12);
    assert_eq!(
        exported["contextd_tests_total"]
            .point(&[("type", "e2e")])
            .unwrap()
            .value,
        30.0
    );
    assert_eq!(exported["contextd_test_coverage_percent"].total(), 68.4);
}

#[test]
fn concurrent_recording_gives_exact_totals() {
    let p = Pipeline::with_view(cardinality_views(DESCRIPTORS));
    let m = Arc::new(ContextdMeters::new(&p.meter()));
    const THREADS: u64 = 4;
    const PER_THREAD: u64 = 50_000;
    let handles: Vec<_> = (0..THREADS)
        .map(|t| {
            let m = Arc::clone(&m);
            std::thread::spawn(move || {
                for i in 0..PER_THREAD {
                    // Same bound series from every thread, plus a per-thread one.
                    m.mcp_tool_calls.add(1, (Tool::Status, Status::Success));
                    let status = if t % 2 == 0 {
                        Status::Success
                    } else {
                        Status::Error
                    };
                    m.mcp_tool_calls.add(1, (Tool::Troubleshoot, status));
                    m.mcp_tool_duration.record(0.001, Tool::Status);
                    m.embedding_tokens.add(3, "shared-model");
                    if i % 1000 == 0 {
                        m.embedding_cost.add(0.5, "shared-model");
                    }
                }
            })
        })
        .collect();
    for h in handles {
        h.join().expect("thread");
    }
    let e = p.collect();
    let calls = &e["contextd_mcp_tool_calls_total"];
    let total = (THREADS * PER_THREAD) as f64;
    assert_eq!(
        calls
            .point(&[("tool_name", "status"), ("status", "success")])
            .unwrap()
            .value,
        total
    );
    assert_eq!(
        calls
            .point(&[("tool_name", "troubleshoot"), ("status", "success")])
            .unwrap()
            .value,
        total / 2.0
    );
    assert_eq!(
        calls
            .point(&[("tool_name", "troubleshoot"), ("status", "error")])
            .unwrap()
            .value,
        total / 2.0
    );
    let dur = e["contextd_mcp_tool_duration_seconds"]
        .point(&[("tool_name", "status")])
        .cloned();
    assert_eq!(dur.unwrap().count, THREADS * PER_THREAD);
    assert_eq!(
        e["contextd_embedding_tokens_total"]
            .point(&[("model", "shared-model")])
            .unwrap()
            .value,
        3.0 * total
    );
    let cost = e["contextd_embedding_cost_total"].total();
    assert_eq!(cost, 0.5 * (THREADS * PER_THREAD / 1000) as f64);
}

#[test]
fn free_form_cardinality_is_bounded_with_an_overflow_series() {
    let p = Pipeline::with_view(cardinality_views(DESCRIPTORS));
    let m = ContextdMeters::new(&p.meter());
    const DISTINCT: u64 = 100_000;
    for i in 0..DISTINCT {
        m.embedding_tokens.add(1, &format!("model-{i}"));
    }
    let e = p.collect();
    let tokens = &e["contextd_embedding_tokens_total"];
    assert!(
        tokens.points.len() <= MODEL_LIMIT + 1,
        "{} series for a limit of {MODEL_LIMIT}",
        tokens.points.len()
    );
    let overflow = tokens
        .point(&[("otel.metric.overflow", "true")])
        .expect("overflow series");
    assert!(overflow.value >= (DISTINCT - MODEL_LIMIT as u64) as f64);
    // Nothing is lost: every measurement is in some series.
    assert_eq!(tokens.total(), DISTINCT as f64);
    // A second batch of new values still does not grow the series count.
    for i in 0..10_000 {
        m.embedding_tokens.add(1, &format!("late-{i}"));
    }
    let e = p.collect();
    assert!(e["contextd_embedding_tokens_total"].points.len() <= MODEL_LIMIT + 1);
}

#[test]
fn nan_negative_and_infinite_values_do_not_corrupt_totals() {
    let p = Pipeline::new();
    let m = ContextdMeters::new(&p.meter());
    let before = rejected_float_counter_values();
    m.embedding_cost.add(1.5, "m");
    m.embedding_cost.add(f64::NAN, "m");
    m.embedding_cost.add(-3.0, "m");
    m.embedding_cost.add(f64::INFINITY, "m");
    m.embedding_cost.add(0.5, "m");
    assert!(rejected_float_counter_values() - before >= 3);
    m.checkpoint_search_score.record(f64::NAN, ());
    m.checkpoint_search_score.record(0.5, ());
    let e = p.collect();
    assert_eq!(e["contextd_embedding_cost_total"].total(), 2.0);
    let score = &e["contextd_checkpoint_search_score"].points[0];
    assert_eq!((score.count, score.value), (1, 0.5));
}

#[test]
fn failing_or_panicking_sources_do_not_break_collection() {
    let p = Pipeline::new();
    let m = ContextdMeters::new(&p.meter());
    m.checkpoints_total
        .register(|_| panic!("vector store exploded"));
    m.remediations_total
        .register_value(|| Err::<u64, _>(std::io::Error::other("qdrant unreachable")));
    m.skills_total.register_value(|| 9u64);
    m.checkpoint_operations.add(1, CheckpointOp::List);

    for _ in 0..2 {
        let e = p.collect();
        assert!(!e.contains_key("contextd_checkpoints_total"));
        assert!(!e.contains_key("contextd_remediations_total"));
        assert_eq!(e["contextd_skills_total"].total(), 9.0);
        assert_eq!(e["contextd_checkpoint_operations_total"].total(), 1.0);
    }
    let h = m.checkpoints_total.health();
    assert!(h.registered);
    assert_eq!(h.failures, 2);
    assert!(h.last_error.unwrap().contains("vector store exploded"));
    let h = m.remediations_total.health();
    assert!(h.last_error.unwrap().contains("qdrant unreachable"));

    // Replacing the source recovers the series and clears the error.
    m.checkpoints_total.register_value(|| 4u64);
    let e = p.collect();
    assert_eq!(e["contextd_checkpoints_total"].total(), 4.0);
    assert_eq!(m.checkpoints_total.health().last_error, None);
    m.checkpoints_total.unregister();
    assert!(!p.collect().contains_key("contextd_checkpoints_total"));
}

#[test]
fn timing_helpers_record_duration_and_status_together() {
    let p = Pipeline::new();
    let m = ContextdMeters::new(&p.meter());
    let ok: Result<u8, &str> = m.tool_call(Tool::ListPatterns, || Ok(1));
    let err: Result<u8, &str> = m.tool_call(Tool::ListPatterns, || Err("boom"));
    assert_eq!((ok, err), (Ok(1), Err("boom")));
    {
        let _t = m.skill_duration.start_timer(SkillOp::Search);
    }
    let e = p.collect();
    let calls = &e["contextd_mcp_tool_calls_total"];
    assert_eq!(
        calls
            .point(&[("tool_name", "list_patterns"), ("status", "success")])
            .unwrap()
            .value,
        1.0
    );
    assert_eq!(
        calls
            .point(&[("tool_name", "list_patterns"), ("status", "error")])
            .unwrap()
            .value,
        1.0
    );
    let d = &e["contextd_mcp_tool_duration_seconds"];
    assert_eq!(d.point(&[("tool_name", "list_patterns")]).unwrap().count, 2);
    assert_eq!(e["contextd_skill_duration_seconds"].points[0].count, 1);
}

#[test]
fn async_database_op_records_errors_by_type() {
    let p = Pipeline::new();
    let m = ContextdMeters::new(&p.meter());
    let fut = m.database_op(
        DbOp::Search,
        "project_ff",
        Collection::Documents,
        |_: &String| DbErrorType::ConnectionTimeout,
        async { Err::<(), String>("timeout".into()) },
    );
    assert!(block_on(fut).is_err());
    let e = p.collect();
    assert_eq!(
        e["contextd_database_errors_total"]
            .point(&[
                ("error_type", "connection_timeout"),
                ("database", "project_ff")
            ])
            .unwrap()
            .value,
        1.0
    );
    assert_eq!(e["contextd_database_operations_total"].total(), 1.0);
    assert_eq!(e["contextd_database_duration_seconds"].points[0].count, 1);
}

/// Minimal executor for futures that never pend.
fn block_on<F: std::future::Future>(f: F) -> F::Output {
    use std::task::{Context, Poll, Waker};
    let mut f = std::pin::pin!(f);
    let mut cx = Context::from_waker(Waker::noop());
    for _ in 0..1000 {
        if let Poll::Ready(v) = f.as_mut().poll(&mut cx) {
            return v;
        }
    }
    panic!("future did not complete");
}

#[test]
fn price_table_rejects_bad_prices() {
    let mut t = PriceTable::new();
    assert!(t.set_price("x", -1.0).is_err());
    assert!(t.set_price("x", f64::NAN).is_err());
    t.set_price("bge-small", 0.0).unwrap();
    assert_eq!(t.cost_usd("bge-small", 1_000_000), Some(0.0));
    assert_eq!(
        PriceTable::openai_defaults().cost_usd("text-embedding-3-small", 1_000_000),
        Some(0.02)
    );
}

/// #22-#25 and #30-#31 are the values the owning crates register their instruments from, so a
/// change there reaches the catalog, the generated doc and the dashboards.
#[test]
fn runtime_and_http_entries_are_the_owning_crates_descriptors() {
    use ferrotel_http::semconv;
    use ferrotel_runtime::descriptors as runtime;
    let owned = [
        (22, Implementer::RuntimeMetrics, runtime::HEAP_LIVE),
        (23, Implementer::RuntimeMetrics, runtime::HEAP_MAPPED),
        (24, Implementer::RuntimeMetrics, runtime::STALL_DURATION),
        (25, Implementer::RuntimeMetrics, runtime::ALIVE_TASKS),
        (
            30,
            Implementer::HttpMiddleware,
            semconv::SERVER_REQUEST_DURATION,
        ),
        (31, Implementer::HttpMiddleware, semconv::SERVER_REQUESTS),
    ];
    for (number, implementer, descriptor) in owned {
        let entry = CATALOG.iter().find(|e| e.number == number).unwrap();
        assert_eq!(entry.implemented_by, implementer, "#{number}");
        assert_eq!(*entry.descriptor, descriptor, "#{number}");
    }
    let owned_by_others = CATALOG
        .iter()
        .filter(|e| e.implemented_by != Implementer::Catalog)
        .count();
    assert_eq!(owned_by_others, owned.len());
    for entry in CATALOG.iter() {
        match entry.implemented_by {
            Implementer::RuntimeMetrics => assert!(runtime::ALL.contains(entry.descriptor)),
            Implementer::HttpMiddleware => {
                assert!(semconv::SERVER_INSTRUMENTS.contains(entry.descriptor))
            }
            Implementer::Catalog => assert!(DESCRIPTORS.contains(entry.descriptor)),
        }
    }
}
