//! The middleware under `tracing-opentelemetry`'s span layer instead of ours (the conformance
//! suite uses ours): a user with a hand-built subscriber gets the same trace continuation,
//! route-named spans, handler children and client propagation.

mod support;

use std::time::Duration;

use ferrotel_http::health::HealthRegistry;
use opentelemetry::trace::{SpanKind, TraceId};
use support::*;

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(15))
        .build()
        .expect("client")
}

fn app(telemetry: &Telemetry) -> AppSpec {
    install(SpanLayer::TracingOpentelemetry);
    AppSpec::new(telemetry, HealthRegistry::builder().build())
}

/// An incoming traceparent is continued; the span is named after the route (actix learns it
/// late and renames); the handler's span is its child.
async fn continues_incoming_trace<F: Framework>() {
    install(SpanLayer::TracingOpentelemetry);
    let telemetry = Telemetry::new();
    let server = F::start(app(&telemetry));
    let trace = format!("{:032x}", rand::random::<u128>() | 1);
    let parent = format!("{:016x}", rand::random::<u64>() | 1);
    let response = client()
        .get(format!("{}/users/9", server.base))
        .header("traceparent", format!("00-{trace}-{parent}-01"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let trace_id = trace_id_of(&response);
    assert_eq!(trace_id, TraceId::from_hex(&trace).unwrap());
    let server_span = eventually("server span", || {
        trace_spans(trace_id)
            .into_iter()
            .find(|s| s.span_kind == SpanKind::Server)
    })
    .await;
    assert_eq!(server_span.name, "GET /users/{id}");
    assert_eq!(server_span.parent_span_id.to_string(), parent);
    assert!(server_span.parent_span_is_remote);
    let child = eventually("handler span", || {
        trace_spans(trace_id)
            .into_iter()
            .find(|s| s.name == "load_user")
    })
    .await;
    assert_eq!(child.parent_span_id, server_span.span_context.span_id());
}

/// A calls B through the reqwest middleware: one trace, parented server -> client -> server.
async fn propagates_to_downstream<F: Framework>() {
    install(SpanLayer::TracingOpentelemetry);
    let telemetry_b = Telemetry::new();
    let b = F::start(app(&telemetry_b));
    let telemetry_a = Telemetry::new();
    let mut spec = app(&telemetry_a);
    spec.downstream = Some(b.base.clone());
    let a = F::start(spec);
    let response = client()
        .get(format!("{}/call", a.base))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let trace_id = trace_id_of(&response);
    let spans = eventually("three spans", || {
        let spans = trace_spans(trace_id);
        (spans.len() >= 3 && spans.iter().any(|s| s.span_kind == SpanKind::Client)).then_some(spans)
    })
    .await;
    let a_server = spans.iter().find(|s| s.name == "GET /call").expect("A");
    let client_span = spans
        .iter()
        .find(|s| s.span_kind == SpanKind::Client)
        .expect("client");
    let b_server = spans
        .iter()
        .find(|s| s.name == "GET /users/{id}")
        .expect("B");
    assert_eq!(client_span.parent_span_id, a_server.span_context.span_id());
    assert_eq!(b_server.parent_span_id, client_span.span_context.span_id());
}

#[tokio::test]
async fn axum_continues_incoming_trace() {
    continues_incoming_trace::<Axum>().await
}

#[tokio::test]
async fn actix_continues_incoming_trace() {
    continues_incoming_trace::<Actix>().await
}

#[tokio::test]
async fn axum_propagates_to_downstream() {
    propagates_to_downstream::<Axum>().await
}

#[tokio::test]
async fn actix_propagates_to_downstream() {
    propagates_to_downstream::<Actix>().await
}
