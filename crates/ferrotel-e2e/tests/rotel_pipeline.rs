//! Real collector in the middle: raw OTLP exporters -> rotel -> fake receiver.
//!
//! Needs `rotel-agent` (`pip install rotel`); a missing binary fails these tests.

use ferrotel_e2e::otlp::{Target, assert_received, assert_traces_and_logs_received, emit_all};
use ferrotel_e2e::{ExportProtocol, Rotel};
use ferrotel_testing::{FakeReceiver, PointValue, Signal, Transport};

fn rotel_to(receiver: &FakeReceiver, protocol: ExportProtocol) -> Rotel {
    let endpoint = match protocol {
        ExportProtocol::Grpc => receiver.grpc_endpoint(),
        ExportProtocol::Http => receiver.http_endpoint(),
    };
    Rotel::builder()
        .export_to(endpoint, protocol)
        .start()
        .unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn http_protobuf_in_grpc_out() {
    let receiver = FakeReceiver::start().unwrap();
    let rotel = rotel_to(&receiver, ExportProtocol::Grpc);
    let emitted = emit_all(
        &Target::HttpProtobuf(rotel.http_endpoint()),
        "via-rotel-http",
    );
    assert_received(&receiver, &emitted, "via-rotel-http");
    for signal in Signal::ALL {
        assert!(
            receiver.request_count(signal, Transport::Grpc) >= 1,
            "{}",
            receiver.summary()
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpc_in_http_out() {
    let receiver = FakeReceiver::start().unwrap();
    let rotel = rotel_to(&receiver, ExportProtocol::Http);
    let target = Target::Grpc(rotel.grpc_endpoint());
    let emitted = tokio::task::spawn_blocking(move || emit_all(&target, "via-rotel-grpc"))
        .await
        .unwrap();
    assert_received(&receiver, &emitted, "via-rotel-grpc");
    for signal in Signal::ALL {
        assert!(
            receiver.request_count(signal, Transport::HttpProtobuf) >= 1,
            "{}",
            receiver.summary()
        );
    }
    // Rotel compresses its exports with gzip by default.
    assert!(
        receiver
            .requests()
            .iter()
            .all(|r| r.compression.as_deref() == Some("gzip")),
        "{:?}",
        receiver.requests()
    );
    drop(rotel);
}

#[test]
fn http_json_in_grpc_out() {
    let receiver = FakeReceiver::start().unwrap();
    let rotel = rotel_to(&receiver, ExportProtocol::Grpc);
    let emitted = emit_all(&Target::HttpJson(rotel.http_endpoint()), "via-rotel-json");
    assert_traces_and_logs_received(&receiver, &emitted, "via-rotel-json");
    // Known rotel limitation (0.0.1-alpha10): metrics received as OTLP/JSON are forwarded
    // without their values: `asInt` (a decimal string, as OTLP/JSON requires for int64)
    // is dropped and histogram data is stripped (its debug log prints no `Value:` and
    // "DataType: Empty"). The same metrics over protobuf arrive intact (other tests). If this
    // starts failing, rotel fixed it: switch this test to `assert_received`.
    receiver
        .wait_for_blocking(ferrotel_e2e::otlp::ARRIVAL_TIMEOUT, |r| {
            r.metrics_requests().iter().any(|req| {
                req.resource_metrics
                    .iter()
                    .flat_map(|rm| &rm.scope_metrics)
                    .flat_map(|sm| &sm.metrics)
                    .any(|m| m.name == "order.duration")
            })
        })
        .unwrap_or_else(|e| panic!("{e}"));
    let orders = receiver.data_points("orders");
    assert_eq!(orders.len(), 2, "both counter series are forwarded");
    assert!(
        orders.iter().all(|p| p.value == PointValue::Missing),
        "rotel now forwards OTLP/JSON counter values: make this test use assert_received"
    );
    assert_eq!(receiver.histogram_count("order.duration", &[]), None);
}

#[test]
fn resource_and_scope_survive_two_services_in_one_collector() {
    let receiver = FakeReceiver::start().unwrap();
    let rotel = rotel_to(&receiver, ExportProtocol::Grpc);
    let target = Target::HttpProtobuf(rotel.http_endpoint());
    ferrotel_e2e::otlp::emit_spans(&target, "svc-a", "a", 3);
    ferrotel_e2e::otlp::emit_spans(&target, "svc-b", "b", 2);
    receiver
        .wait_for_blocking(ferrotel_e2e::otlp::ARRIVAL_TIMEOUT, |r| {
            r.spans().len() == 5
        })
        .unwrap_or_else(|e| panic!("{e}"));
    for span in receiver.spans() {
        let expected = if span.name().starts_with("a-") {
            "svc-a"
        } else {
            "svc-b"
        };
        assert_eq!(
            span.resource.get_str("service.name"),
            Some(expected),
            "{}",
            span.name()
        );
    }
    let services: Vec<_> = receiver
        .resources(Signal::Traces)
        .iter()
        .filter_map(|r| r.get_str("service.name").map(str::to_owned))
        .collect();
    assert!(services.contains(&"svc-a".to_owned()) && services.contains(&"svc-b".to_owned()));
}
