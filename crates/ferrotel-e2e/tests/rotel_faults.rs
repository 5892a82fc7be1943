//! Fault behaviour of the real pipeline: the backend (fake receiver) down or refusing, the
//! collector (rotel) stopped and restarted on the same ports, and rotel's flush on `SIGTERM`.

use std::time::Duration;

use ferrotel_e2e::otlp::{ARRIVAL_TIMEOUT, Target, emit_spans};
use ferrotel_e2e::{ExportProtocol, Rotel};
use ferrotel_testing::{FakeReceiver, Fault, Signal};

fn names(receiver: &FakeReceiver) -> Vec<String> {
    let mut names: Vec<String> = receiver
        .spans()
        .iter()
        .map(|s| s.name().to_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn backend_down_then_up_rotel_retries_and_delivers() {
    let receiver = FakeReceiver::start().unwrap();
    let rotel = Rotel::builder()
        .export_to(receiver.grpc_endpoint(), ExportProtocol::Grpc)
        .retry_initial_backoff(Duration::from_millis(100))
        .start()
        .unwrap_or_else(|e| panic!("{e}"));
    receiver.shutdown();
    // Rotel accepts (and buffers) while its backend is down.
    emit_spans(
        &Target::HttpProtobuf(rotel.http_endpoint()),
        "retry-svc",
        "buffered",
        3,
    );
    assert!(receiver.spans().is_empty());
    receiver.restart().unwrap();
    receiver
        .wait_for_blocking(ARRIVAL_TIMEOUT, |r| r.spans().len() >= 3)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(names(&receiver), ["buffered-0", "buffered-1", "buffered-2"]);
}

#[test]
fn backend_unavailable_is_retried_by_rotel() {
    let receiver = FakeReceiver::start().unwrap();
    let rotel = Rotel::builder()
        .export_to(receiver.http_endpoint(), ExportProtocol::Http)
        .retry_initial_backoff(Duration::from_millis(100))
        .start()
        .unwrap_or_else(|e| panic!("{e}"));
    receiver.fail_next(2, Fault::Unavailable);
    emit_spans(
        &Target::HttpProtobuf(rotel.http_endpoint()),
        "retry-svc",
        "refused",
        1,
    );
    receiver
        .wait_for_blocking(ARRIVAL_TIMEOUT, |r| r.span_named("refused-0").is_some())
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        receiver.rejected_count(Signal::Traces),
        2,
        "{}",
        receiver.summary()
    );
    assert_eq!(
        receiver.spans().len(),
        1,
        "retries must not duplicate spans"
    );
}

#[test]
fn rotel_restarts_on_the_same_ports() {
    let receiver = FakeReceiver::start().unwrap();
    let mut rotel = Rotel::builder()
        .export_to(receiver.grpc_endpoint(), ExportProtocol::Grpc)
        .start()
        .unwrap_or_else(|e| panic!("{e}"));
    let target = Target::HttpProtobuf(rotel.http_endpoint());
    let (http, grpc) = (rotel.http_addr(), rotel.grpc_addr());

    emit_spans(&target, "restart-svc", "before", 2);
    receiver
        .wait_for_blocking(ARRIVAL_TIMEOUT, |r| r.spans().len() == 2)
        .unwrap_or_else(|e| panic!("{e}"));

    rotel.stop().unwrap();
    assert!(!rotel.is_running());
    assert!(
        std::net::TcpStream::connect(http).is_err(),
        "rotel still listening after stop"
    );
    // Sent while the collector is down: the exporter fails (and logs); nothing can arrive.
    emit_spans(&target, "restart-svc", "while-down", 2);

    rotel.restart().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((rotel.http_addr(), rotel.grpc_addr()), (http, grpc));
    emit_spans(&target, "restart-svc", "after", 2);
    receiver
        .wait_for_blocking(ARRIVAL_TIMEOUT, |r| r.spans().len() >= 4)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        names(&receiver),
        ["after-0", "after-1", "before-0", "before-1"]
    );
}

#[test]
fn sigterm_flushes_batched_data() {
    let receiver = FakeReceiver::start().unwrap();
    let mut rotel = Rotel::builder()
        .export_to(receiver.grpc_endpoint(), ExportProtocol::Grpc)
        // Far longer than the test: only the shutdown path can export these spans.
        .batch_timeout(Duration::from_secs(600))
        .start()
        .unwrap_or_else(|e| panic!("{e}"));
    emit_spans(
        &Target::HttpProtobuf(rotel.http_endpoint()),
        "flush-svc",
        "pending",
        5,
    );
    assert!(
        receiver.spans().is_empty(),
        "rotel exported before its batch timeout"
    );
    rotel.stop().unwrap();
    receiver
        .wait_for_blocking(ARRIVAL_TIMEOUT, |r| r.spans().len() >= 5)
        .unwrap_or_else(|e| panic!("rotel did not flush on SIGTERM: {e}\n{}", rotel.output()));
    assert_eq!(receiver.spans().len(), 5);
}

#[test]
fn sigkill_loses_batched_data() {
    let receiver = FakeReceiver::start().unwrap();
    let mut rotel = Rotel::builder()
        .export_to(receiver.grpc_endpoint(), ExportProtocol::Grpc)
        .batch_timeout(Duration::from_secs(600))
        .start()
        .unwrap_or_else(|e| panic!("{e}"));
    emit_spans(
        &Target::HttpProtobuf(rotel.http_endpoint()),
        "crash-svc",
        "pending",
        3,
    );
    rotel.kill();
    // Nothing can arrive any more: the process is gone. A short bounded wait proves it.
    let arrived = receiver.wait_for_blocking(Duration::from_millis(500), |r| !r.spans().is_empty());
    assert!(
        arrived.is_err(),
        "spans arrived from a SIGKILLed rotel: {}",
        receiver.summary()
    );
}
