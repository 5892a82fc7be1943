//! Exemplars over every OTLP protocol (`http/protobuf`, `http/json`, gRPC, each plain and
//! gzipped): a histogram recorded through the family inside a sampled span reaches the fake
//! receiver with that span's trace and span ids; measurements outside any span or inside an
//! unsampled one leave none (the default `trace_based` filter).

use std::time::Duration;

use ferrotel_meters::{
    Histogram, Instrument as _, InstrumentDescriptor, InstrumentKind, ValueType,
};
use ferrotel_testing::FakeReceiver;
use opentelemetry::trace::{
    SpanContext, SpanId, TraceContextExt as _, TraceFlags, TraceId, TraceState,
};

const WAIT: Duration = Duration::from_secs(20);

static LATENCY: InstrumentDescriptor = InstrumentDescriptor {
    name: "exemplar.test.latency",
    kind: InstrumentKind::Histogram,
    value_type: ValueType::F64,
    unit: "s",
    description: "A latency with exemplars.",
    labels: &[],
    buckets: Some(&[0.01, 0.1, 1.0, 10.0]),
    cardinality_limit: None,
};

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The reservoirs are process-wide, so the protocols run one after the other in one test: each
/// run's exemplars replace the previous run's in the same buckets.
#[test]
fn histogram_exemplars_name_the_sampled_span_they_were_recorded_in() {
    use ferrotel::Protocol::{Grpc, HttpJson, HttpProtobuf};
    for (protocol, gzip) in [
        (HttpProtobuf, false),
        (HttpProtobuf, true),
        (HttpJson, false),
        (HttpJson, true),
        (Grpc, false),
        (Grpc, true),
    ] {
        exemplars_arrive(protocol, gzip);
    }
}

fn exemplars_arrive(protocol: ferrotel::Protocol, gzip: bool) {
    let receiver = FakeReceiver::start().expect("receiver");
    let endpoint = match protocol {
        ferrotel::Protocol::Grpc => receiver.grpc_endpoint(),
        _ => receiver.http_endpoint(),
    };
    let guard = ferrotel::builder()
        .service_name("exemplar-test")
        .endpoint(endpoint)
        .protocol(protocol)
        .global(false)
        .env_lookup(move |key| {
            (gzip && key == "OTEL_EXPORTER_OTLP_COMPRESSION").then(|| "gzip".to_string())
        })
        .console_format(ferrotel::ConsoleFormat::Off)
        .metric_export_interval(Duration::from_secs(3600))
        .init()
        .expect("init");
    let meter = guard.meter("exemplar-test");
    let latency: Histogram<()> = Histogram::build(&meter, &LATENCY);

    let unsampled_parent =
        opentelemetry::Context::new().with_remote_span_context(SpanContext::new(
            TraceId::from(0x1111_2222_3333_4444_5555_6666_7777_8888),
            SpanId::from(0x1234_5678_9abc_def0),
            TraceFlags::default(),
            true,
            TraceState::default(),
        ));
    tracing::dispatcher::with_default(guard.dispatch(), || {
        latency.record(0.5, ()); // no span: no exemplar
        tracing::info_span!("timed").in_scope(|| latency.record(0.02, ()));
        tracing::info_span!("timed-big").in_scope(|| latency.record(5.0, ()));
        let unsampled =
            ferrotel::with_parent_context(unsampled_parent, || tracing::info_span!("unsampled"));
        unsampled.in_scope(|| latency.record(0.05, ()));
    });
    let report = guard.shutdown();
    assert!(report.is_ok(), "{protocol:?} gzip={gzip}: {report:?}");
    let context = format!("{protocol:?} gzip={gzip}");

    receiver
        .wait_for_blocking(WAIT, |r| {
            r.span_named("timed").is_some() && !r.data_points(LATENCY.name).is_empty()
        })
        .unwrap_or_else(|e| panic!("{context}: nothing arrived: {e}"));
    let points = receiver.data_points(LATENCY.name);
    let exemplars: Vec<_> = points.iter().flat_map(|p| p.exemplars.iter()).collect();
    let mut values: Vec<f64> = exemplars
        .iter()
        .map(|e| match e.value {
            Some(opentelemetry_proto::tonic::metrics::v1::exemplar::Value::AsDouble(v)) => v,
            other => panic!("not a double: {other:?}"),
        })
        .collect();
    values.sort_by(f64::total_cmp);
    assert_eq!(
        values,
        [0.02, 5.0],
        "{context}: only the sampled spans' measurements"
    );
    for (span_name, value) in [("timed", 0.02), ("timed-big", 5.0)] {
        let span = receiver.span_named(span_name).expect("span exported");
        let e = exemplars
            .iter()
            .find(|e| {
                matches!(e.value, Some(opentelemetry_proto::tonic::metrics::v1::exemplar::Value::AsDouble(v)) if v == value)
            })
            .expect("exemplar");
        assert_eq!(hex(&e.trace_id), span.trace_id(), "{context}: {span_name}");
        assert_eq!(hex(&e.span_id), span.span_id(), "{context}: {span_name}");
        assert!(e.time_unix_nano > 0);
    }
    assert!(receiver.span_named("unsampled").is_none());
}
