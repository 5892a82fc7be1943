//! `ferrotel::builder()...init()` -> rotel (a real collector) -> fake receiver, over HTTP and
//! gRPC; and rotel's own debug output. Needs `rotel-agent` (`pip install rotel`): a missing
//! binary fails these tests.

use std::time::Duration;

use ferrotel::{Guard, Protocol};
use ferrotel_e2e::{DebugSignal, ExportProtocol, Rotel};
use ferrotel_testing::{AttrValue, FakeReceiver, Signal};
use opentelemetry::KeyValue;

const WAIT: Duration = Duration::from_secs(30);

fn pipeline(endpoint: String, protocol: Protocol, service: &str) -> Guard {
    ferrotel::builder()
        .service_name(service)
        .service_version("1.2.3")
        .deployment_environment("e2e")
        .endpoint(endpoint)
        .protocol(protocol)
        .global(false)
        .env_lookup(|_| None)
        .console_format(ferrotel::ConsoleFormat::Off)
        .log_filter("info,ferrotel=warn")
        .span_schedule_delay(Duration::from_millis(100))
        .log_schedule_delay(Duration::from_millis(100))
        .metric_export_interval(Duration::from_millis(500))
        .init()
        .expect("init")
}

fn emit(guard: &Guard) {
    let counter = guard.meter("e2e").u64_counter("orders.placed").build();
    tracing::dispatcher::with_default(guard.dispatch(), || {
        tracing::info_span!("checkout", order.id = 7_i64).in_scope(|| {
            tracing::info_span!("charge_card").in_scope(|| {
                tracing::info!(amount = 42_i64, "card charged");
            });
            counter.add(3, &[KeyValue::new("region", "eu")]);
        });
    });
}

fn through_rotel(protocol: Protocol) {
    let receiver = FakeReceiver::start().unwrap();
    let rotel = Rotel::builder()
        .export_to(receiver.grpc_endpoint(), ExportProtocol::Grpc)
        .start()
        .unwrap_or_else(|e| panic!("{e}"));
    let endpoint = match protocol {
        Protocol::Grpc => rotel.grpc_endpoint(),
        _ => rotel.http_endpoint(),
    };
    let service = format!("init-via-rotel-{}", protocol.as_str().replace('/', "-"));
    let guard = pipeline(endpoint, protocol, &service);
    emit(&guard);
    receiver
        .wait_for_blocking(WAIT, |r| {
            r.span_named("charge_card").is_some()
                && !r.log_records_containing("card charged").is_empty()
                && r.counter_sum("orders.placed", &[("region", AttrValue::from("eu"))]) == Some(3.0)
        })
        .unwrap_or_else(|e| panic!("{e}\nrotel output:\n{}", rotel.output()));
    let parent = receiver.span_named("checkout").unwrap();
    let child = receiver.span_named("charge_card").unwrap();
    assert!(child.is_child_of(&parent));
    assert_eq!(parent.attribute("order.id"), Some(AttrValue::from(7_i64)));
    let log = &receiver.log_records_containing("card charged")[0];
    assert_eq!(log.trace_id(), Some(child.trace_id()));
    for signal in [Signal::Traces, Signal::Metrics, Signal::Logs] {
        assert_eq!(
            receiver.resource_attribute(signal, "service.name"),
            Some(AttrValue::from(service.as_str()))
        );
        assert_eq!(
            receiver.resource_attribute(signal, "service.version"),
            Some(AttrValue::from("1.2.3"))
        );
        assert_eq!(
            receiver.resource_attribute(signal, "deployment.environment.name"),
            Some(AttrValue::from("e2e"))
        );
    }
    let report = guard.shutdown();
    assert!(report.is_ok(), "{report:?}");
    assert_eq!(report.stats.spans.failed + report.stats.spans.dropped, 0);
}

#[test]
fn init_over_http_protobuf_through_rotel() {
    through_rotel(Protocol::HttpProtobuf);
}

#[test]
fn init_over_grpc_through_rotel() {
    through_rotel(Protocol::Grpc);
}

#[test]
fn rotel_debug_output_shows_what_init_sent() {
    let rotel = Rotel::builder()
        .debug_log(DebugSignal::Traces)
        .debug_log(DebugSignal::Logs)
        .start()
        .unwrap_or_else(|e| panic!("{e}"));
    let guard = pipeline(
        rotel.http_endpoint(),
        Protocol::HttpProtobuf,
        "debug-log-check",
    );
    emit(&guard);
    let report = guard.shutdown();
    assert!(report.is_ok(), "{report:?}");
    rotel
        .wait_for_output(WAIT, |out| {
            out.contains("charge_card") && out.contains("card charged")
        })
        .unwrap_or_else(|e| panic!("{e}"));
    let out = rotel.output();
    assert!(
        out.contains("debug-log-check"),
        "the resource reached rotel:\n{out}"
    );
}
