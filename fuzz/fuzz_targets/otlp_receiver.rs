//! The fake receiver's OTLP/HTTP decoding (`ferrotel_testing::FakeReceiver`), fed any body:
//! protobuf or JSON, for any signal, plain or gzipped, and then read through every view a test
//! uses (spans, data points, log records, resources, the summary).
//!
//! Checked for every input: nothing panics; a body is either accepted (and kept as one
//! request) or refused with a message that is also kept as a decode error; an accepted
//! request's views hold exactly its spans and log records.
//!
//! Input: one selector byte (signal, encoding, compression), then the body. With gzip the
//! body is compressed here, so the decoder sees what the bytes inflate to; with "gzip, raw"
//! the bytes are handed over as they are, a broken stream most of the time.
#![no_main]

use std::io::Write as _;
use std::sync::OnceLock;

use ferrotel_testing::{FakeReceiver, Signal};
use libfuzzer_sys::fuzz_target;

static RECEIVER: OnceLock<FakeReceiver> = OnceLock::new();

const SIGNALS: [Signal; 3] = [Signal::Traces, Signal::Metrics, Signal::Logs];

fuzz_target!(|data: &[u8]| {
    let Some((&selector, body)) = data.split_first() else {
        return;
    };
    let receiver = RECEIVER.get_or_init(|| FakeReceiver::start().expect("receiver starts"));
    receiver.clear();

    let signal = SIGNALS[(selector % 3) as usize];
    let content_type = if selector & 0x04 == 0 {
        "application/x-protobuf"
    } else {
        "application/json"
    };
    let (encoding, body) = match (selector >> 3) % 3 {
        0 => (None, body.to_vec()),
        1 => {
            let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            gz.write_all(body).unwrap();
            (Some("gzip"), gz.finish().unwrap())
        }
        _ => (Some("gzip"), body.to_vec()),
    };

    let outcome = receiver.ingest_http_body(signal, content_type, encoding, &body);

    // Every view, whatever was decoded.
    for span in receiver.spans() {
        let _ = (
            span.name(),
            span.trace_id(),
            span.span_id(),
            span.parent_span_id(),
        );
        let _ = (
            span.attributes(),
            span.kind(),
            span.status(),
            span.event_names(),
        );
        for name in span.event_names() {
            let _ = span.event_attributes(name);
        }
    }
    for name in receiver.metric_names() {
        for point in receiver.data_points(&name) {
            let _ = (point.value.as_f64(), point.value.count(), point.value.sum());
            let _ = (point.attributes.len(), point.exemplars.len(), point.kind);
        }
    }
    for record in receiver.log_records() {
        let _ = (record.body(), record.body_str(), record.severity_number());
        let _ = (record.trace_id(), record.span_id(), record.attributes());
    }
    for s in SIGNALS {
        for resource in receiver.resources(s) {
            for (key, value) in resource.iter() {
                let _ = (
                    key,
                    value.as_str(),
                    value.as_i64(),
                    value.as_f64(),
                    value.as_bool(),
                );
            }
        }
    }
    let _ = receiver.summary();

    let requests = receiver.requests();
    match outcome {
        Ok(()) => {
            assert_eq!(requests.len(), 1);
            assert!(requests[0].accepted);
            assert!(receiver.decode_errors().is_empty());
            match signal {
                Signal::Traces => {
                    let decoded = receiver.trace_requests();
                    let spans: usize = decoded[0]
                        .resource_spans
                        .iter()
                        .flat_map(|r| &r.scope_spans)
                        .map(|s| s.spans.len())
                        .sum();
                    assert_eq!(receiver.spans().len(), spans);
                }
                Signal::Logs => {
                    let decoded = receiver.logs_requests();
                    let records: usize = decoded[0]
                        .resource_logs
                        .iter()
                        .flat_map(|r| &r.scope_logs)
                        .map(|s| s.log_records.len())
                        .sum();
                    assert_eq!(receiver.log_records().len(), records);
                }
                Signal::Metrics => assert_eq!(receiver.metrics_requests().len(), 1),
            }
        }
        Err(message) => {
            assert!(!message.is_empty());
            assert_eq!(receiver.decode_errors(), vec![message]);
            assert!(requests.iter().all(|r| !r.accepted));
        }
    }
});
