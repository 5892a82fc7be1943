//! A real `axum::serve` server on a multi-thread runtime, captured whole: the request spans from
//! the middleware, the handler's `#[instrument]` spans as their children, log records carrying
//! the handler span's ids, and the HTTP and application metrics.

mod support;

use std::time::{Duration, Instant};

use ferrotel_testing::AttrValue;
use opentelemetry::trace::SpanKind;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn axum_serve_on_a_multi_thread_runtime_is_captured() {
    let capture = ferrotel_testing::capture::start("shop");
    let addr = support::serve("shop").await;
    for id in [1, 2, 3] {
        assert_eq!(
            support::get_status(addr, &format!("/items/{id}")).await,
            200
        );
    }
    let deadline = Instant::now() + Duration::from_secs(5);
    while capture.spans().len() < 6 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    let spans = capture.spans();
    let server: Vec<_> = spans
        .iter()
        .filter(|s| s.span_kind == SpanKind::Server)
        .collect();
    assert_eq!(server.len(), 3, "{spans:#?}");
    for request in &server {
        assert_eq!(request.name, "GET /items/{id}");
        let child = spans
            .iter()
            .find(|s| s.name == "load_item" && s.parent_span_id == request.span_context.span_id())
            .unwrap_or_else(|| panic!("no handler span under {request:#?}"));
        assert_eq!(
            child.span_context.trace_id(),
            request.span_context.trace_id()
        );
        let log = capture
            .logs()
            .into_iter()
            .find(|l| l.span_id == Some(child.span_context.span_id()))
            .expect("the handler's log record carries its span id");
        assert_eq!(log.body, "item loaded");
        assert_eq!(log.trace_id, Some(request.span_context.trace_id()));
    }

    assert_eq!(
        capture.histogram_count(
            "http.server.request.duration",
            &[
                ("http.route", "/items/{id}".into()),
                ("http.response.status_code", AttrValue::Int(200)),
            ]
        ),
        Some(3)
    );
    assert_eq!(
        capture.counter_sum("shop.items.loaded", &[("kind", "item".into())]),
        Some(6.0)
    );
    let report = capture.shutdown();
    assert!(report.is_ok(), "{report:?}");
}
