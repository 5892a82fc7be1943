//! The fake receiver on its own, fed by the raw opentelemetry-otlp exporters over each of its
//! three transports: everything sent arrives intact, tagged with the transport it used.

use ferrotel_e2e::otlp::{Target, assert_received, emit_all};
use ferrotel_testing::{FakeReceiver, Signal, Transport};

fn assert_only_transport(receiver: &FakeReceiver, transport: Transport) {
    for signal in Signal::ALL {
        assert!(
            receiver.request_count(signal, transport) >= 1,
            "no {signal} over {transport}: {}",
            receiver.summary()
        );
        for other in Transport::ALL.into_iter().filter(|t| *t != transport) {
            assert_eq!(
                receiver.request_count(signal, other),
                0,
                "{signal} over {other}"
            );
        }
    }
    assert!(
        receiver.decode_errors().is_empty(),
        "{:?}",
        receiver.decode_errors()
    );
}

#[test]
fn http_protobuf() {
    let receiver = FakeReceiver::start().unwrap();
    let emitted = emit_all(
        &Target::HttpProtobuf(receiver.http_endpoint()),
        "direct-http-protobuf",
    );
    assert_received(&receiver, &emitted, "direct-http-protobuf");
    assert_only_transport(&receiver, Transport::HttpProtobuf);
}

#[test]
fn http_json() {
    let receiver = FakeReceiver::start().unwrap();
    let emitted = emit_all(
        &Target::HttpJson(receiver.http_endpoint()),
        "direct-http-json",
    );
    assert_received(&receiver, &emitted, "direct-http-json");
    assert_only_transport(&receiver, Transport::HttpJson);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpc() {
    let receiver = FakeReceiver::start().unwrap();
    let target = Target::Grpc(receiver.grpc_endpoint());
    let emitted = tokio::task::spawn_blocking(move || emit_all(&target, "direct-grpc"))
        .await
        .unwrap();
    assert_received(&receiver, &emitted, "direct-grpc");
    assert_only_transport(&receiver, Transport::Grpc);
}
