//! The `metrics` facade recorder routes `metrics::*!` calls to the OTel pipeline.
#![cfg(feature = "metrics-facade")]

mod common;

use common::Pipeline;
use ferrotel_meters::{DURATION_BUCKETS, OtelRecorder};

#[test]
fn metrics_macros_arrive_through_the_in_memory_exporter() {
    let p = Pipeline::new();
    let recorder = OtelRecorder::new(p.meter());
    metrics::with_local_recorder(&recorder, || {
        metrics::describe_counter!("cache_hits_total", metrics::Unit::Count, "Cache hits.");
        metrics::describe_histogram!(
            "query_duration_seconds",
            metrics::Unit::Seconds,
            "Query time."
        );
        for _ in 0..3 {
            metrics::counter!("cache_hits_total", "cache" => "users").increment(2);
        }
        metrics::counter!("cache_hits_total", "cache" => "orders").increment(1);
        let c = metrics::counter!("bytes_total");
        c.absolute(100);
        c.absolute(90); // lower absolute values never make the sum go down
        c.absolute(150);
        let g = metrics::gauge!("queue_depth", "queue" => "a");
        g.set(10.0);
        metrics::gauge!("queue_depth", "queue" => "a").increment(5.0);
        metrics::gauge!("queue_depth", "queue" => "a").decrement(2.0);
        metrics::histogram!("query_duration_seconds").record(0.03);
        metrics::histogram!("query_duration_seconds").record(0.2);
    });
    let e = p.collect();
    let hits = &e["cache_hits_total"];
    assert_eq!(hits.kind, "counter");
    assert_eq!(hits.description, "Cache hits.");
    assert_eq!(hits.point(&[("cache", "users")]).unwrap().value, 6.0);
    assert_eq!(hits.point(&[("cache", "orders")]).unwrap().value, 1.0);
    assert_eq!(e["bytes_total"].total(), 150.0);
    assert_eq!(
        e["queue_depth"].point(&[("queue", "a")]).unwrap().value,
        13.0
    );
    let h = &e["query_duration_seconds"];
    assert_eq!(h.unit, "s");
    assert_eq!(h.points[0].count, 2);
    assert_eq!(h.points[0].bounds, DURATION_BUCKETS.to_vec());
}
