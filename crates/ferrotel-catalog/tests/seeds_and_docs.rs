//! The seed 003/004 sets, and the generated catalog doc.

// The metric-reading helpers of the mechanism crate's tests, shared rather than copied.
#[path = "../../ferrotel-meters/tests/common/mod.rs"]
mod common;

use common::Pipeline;
use ferrotel_catalog::catalog_markdown;
use ferrotel_catalog::seeds::*;
use ferrotel_meters::{InstrumentSet, cardinality_views, prometheus_name};

#[test]
fn seed_sets_keep_their_prometheus_names_and_export() {
    for d in AutomationMeters::DESCRIPTORS
        .iter()
        .chain(AgentTraceMeters::DESCRIPTORS)
    {
        assert_eq!(prometheus_name(d.name, d.unit, d.kind), d.name);
    }
    let p = Pipeline::with_view(cardinality_views(AgentTraceMeters::DESCRIPTORS));
    let a = AutomationMeters::new(&p.meter());
    a.ai_requests.add(1, (AiStatus::Success, "echo"));
    a.ai_request_duration.record(0.3, "echo");
    a.selector_requests
        .add(1, (SelectorStatus::Ok, SelectorSource::Cache));
    a.build_info.register(|o| {
        o.observe(1, ("3.0.0", "abc123def", "2024-01-20T10:00:00Z"));
        Ok(())
    });
    let t = AgentTraceMeters::new(&p.meter());
    t.http_requests
        .add(1, (HttpMethod::Get, "/v1/traces", "200"));
    t.worker_active_jobs.add(3, ());
    t.worker_active_jobs.add(-1, ());
    t.db_connections_active.register(|o| {
        o.observe(4, Database::Postgres);
        o.observe(2, Database::Clickhouse);
        Ok(())
    });
    let e = p.collect();
    assert_eq!(e["ai_requests_total"].total(), 1.0);
    assert_eq!(e["worker_active_jobs"].kind, "updowncounter");
    assert_eq!(e["worker_active_jobs"].total(), 2.0);
    assert_eq!(e["db_connections_active"].total(), 6.0);
    assert!(
        e["automation_build_info"]
            .point(&[
                ("version", "3.0.0"),
                ("git_commit", "abc123def"),
                ("built_at", "2024-01-20T10:00:00Z")
            ])
            .is_some()
    );
    assert!(
        e["http_requests_total"]
            .point(&[("method", "GET"), ("path", "/v1/traces"), ("status", "200")])
            .is_some()
    );
}

/// `docs/metrics-catalog.md` must be what the code generates. Regenerate with
/// `UPDATE_CATALOG=1 cargo test -p ferrotel-catalog --test seeds_and_docs`.
#[test]
fn committed_catalog_doc_is_up_to_date() {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/metrics-catalog.md");
    let generated = catalog_markdown();
    if std::env::var_os("UPDATE_CATALOG").is_some() {
        std::fs::write(&path, &generated).expect("write catalog");
    }
    let committed = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    assert!(
        committed == generated,
        "{} is out of date: run `UPDATE_CATALOG=1 cargo test -p ferrotel-catalog --test seeds_and_docs`",
        path.display()
    );
    for e in ferrotel_catalog::contextd::CATALOG.iter() {
        assert!(generated.contains(&format!("`{}`", e.descriptor.prometheus_name())));
    }
}
