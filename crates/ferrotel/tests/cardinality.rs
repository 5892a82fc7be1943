//! `init()` applies the cardinality limits that instrument sets declare, with no view added by
//! hand: 100,000 label values on an instrument declaring a limit give at most that many series
//! (plus the SDK's one overflow series).

use ferrotel::opentelemetry_sdk::metrics::InMemoryMetricExporter;
use ferrotel::opentelemetry_sdk::metrics::data::{AggregatedMetrics, MetricData};
use ferrotel_meters::FreeForm;

ferrotel_meters::instrument_set! {
    /// Requests by a free-form tenant label, bounded by a declared limit.
    pub struct TenantMeters {
        counter requests {
            name: "cardinality_test_requests_total",
            unit: "{request}",
            description: "Requests by tenant.",
            labels: { "tenant": FreeForm },
            cardinality_limit: 50,
        },
    }
}

/// An instrument of no set: it keeps the SDK's default limit (2,000).
const UNDECLARED: &str = "cardinality_test_undeclared_total";

fn series(exporter: &InMemoryMetricExporter, name: &str) -> usize {
    let exports = exporter.get_finished_metrics().expect("in-memory metrics");
    let last = exports.last().expect("at least one export");
    last.scope_metrics()
        .flat_map(|s| s.metrics())
        .filter(|m| m.name() == name)
        .map(|m| match m.data() {
            AggregatedMetrics::U64(MetricData::Sum(s)) => s.data_points().count(),
            other => panic!("unexpected data for {name}: {other:?}"),
        })
        .sum()
}

#[test]
fn init_applies_the_limits_instrument_sets_declare() {
    let exporter = InMemoryMetricExporter::default();
    let guard = ferrotel::builder()
        .service_name("cardinality-test")
        .env_lookup(|_| None)
        .exporters(&[])
        .console_format(ferrotel::ConsoleFormat::Off)
        .global(false)
        .with_metric_exporter(exporter.clone())
        .init()
        .expect("init");
    let meter = guard.meter("cardinality-test");
    let meters = TenantMeters::new(&meter);
    let undeclared = meter.u64_counter(UNDECLARED).build();
    for i in 0..100_000 {
        let tenant = format!("tenant-{i}");
        meters.requests.add(1, tenant.as_str());
        undeclared.add(
            1,
            &[ferrotel::opentelemetry::KeyValue::new("tenant", tenant)],
        );
    }
    let _ = guard.force_flush();
    let declared = series(&exporter, "cardinality_test_requests_total");
    assert!(
        (50..=51).contains(&declared),
        "{declared} series for a declared limit of 50"
    );
    // The declared limit is not applied to instruments outside the set.
    let other = series(&exporter, UNDECLARED);
    assert!(
        other > 51,
        "{other} series for an instrument with no declared limit"
    );
    drop(guard);
}
