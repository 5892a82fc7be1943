//! Data sources: the cached async pattern with visible staleness.

mod common;

use std::time::Duration;

use common::Pipeline;
use ferrotel_meters::{CachedSource, instrument_set};

instrument_set! {
    /// A store's size, read by callback.
    struct StoreMeters {
        observable_gauge checkpoints_total {
            name: "store_checkpoints_total",
            unit: "{checkpoint}",
            description: "Checkpoints in the store.",
            labels: {},
        },
    }
}

#[test]
fn refresh_failure_keeps_the_error_visible() {
    let cache: CachedSource<u64> = CachedSource::new("flaky", Duration::from_secs(60));
    cache.store_result::<String>(Err("store down".into()));
    let snap = cache.snapshot();
    assert!(snap.stale);
    assert_eq!(snap.failures, 1);
    assert_eq!(snap.last_error.as_deref(), Some("store down"));
    assert!(
        cache
            .fresh()
            .unwrap_err()
            .to_string()
            .contains("last error: store down")
    );
    cache.store(3);
    assert_eq!(cache.fresh(), Ok(3));
}

#[test]
fn stale_values_are_not_reported_and_age_is_exported() {
    let p = Pipeline::new();
    let meter = p.meter();
    let m = StoreMeters::new(&meter);
    let cache = CachedSource::new("checkpoints", Duration::from_millis(50));
    m.checkpoints_total.register_value(cache.reader());
    cache.register_age_gauge(&meter);

    cache.store(41u64);
    let e = p.collect();
    assert_eq!(e["store_checkpoints_total"].total(), 41.0);
    let age = &e["telemetry.data_source.age"];
    assert_eq!(age.unit, "s");
    assert!(age.point(&[("data_source", "checkpoints")]).is_some());

    std::thread::sleep(Duration::from_millis(120));
    let e = p.collect();
    assert!(
        !e.contains_key("store_checkpoints_total"),
        "stale value exported"
    );
    assert!(e["telemetry.data_source.age"].total() >= 0.1);
    let err = m.checkpoints_total.health().last_error.unwrap();
    assert!(err.contains("is stale"), "{err}");
}

#[test]
fn async_refresh_stores_the_outcome() {
    let cache: CachedSource<u64> = CachedSource::new("async", Duration::from_secs(60));
    let fut = cache.refresh(async { Ok::<u64, String>(8) });
    let mut fut = std::pin::pin!(fut);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    assert!(fut.as_mut().poll(&mut cx).is_ready());
    assert_eq!(cache.fresh(), Ok(8));
}
