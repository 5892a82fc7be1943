//! The HTTP middleware's duration exemplars on the OpenMetrics exposition: a request arriving
//! with a sampled `traceparent` leaves an exemplar naming its trace on its `_bucket` line; an
//! unsampled one leaves none; the classic text format never shows them.

use std::time::Duration;

use axum::Router;
use axum::routing::get;
use ferrotel_http::HttpInstrumentation;
use ferrotel_http::tower::HttpLayer;
use ferrotel_prometheus::{Format, PrometheusExporter};

const SAMPLED_TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const UNSAMPLED_TRACE: &str = "0af7651916cd43dd8448eb211c80319c";

#[tokio::test]
async fn a_sampled_request_leaves_its_trace_on_the_duration_bucket() {
    let exporter = PrometheusExporter::default();
    let guard = ferrotel::builder()
        .service_name("exemplar-http-test")
        .global(false)
        .env_lookup(|name| name.ends_with("_EXPORTER").then(|| "none".to_owned()))
        .console_format(ferrotel::ConsoleFormat::Off)
        .with_metric_reader(exporter.clone())
        .init()
        .expect("init");
    // `global(false)` installs no propagator; the middleware reads the global one.
    opentelemetry::global::set_text_map_propagator(
        ferrotel::opentelemetry_sdk::propagation::TraceContextPropagator::new(),
    );
    // The server runs on this (current-thread) runtime's thread.
    let _dispatch = tracing::dispatcher::set_default(guard.dispatch());
    let instrumentation = HttpInstrumentation::builder()
        .meter_provider(guard.meter_provider().expect("meter provider"))
        .build();
    let app = Router::new()
        .route("/sampled", get(|| async { "yes" }))
        .route("/unsampled", get(|| async { "no" }))
        .layer(HttpLayer::new(instrumentation));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let server = tokio::spawn(async move { axum::serve(listener, app).await });

    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    for (path, trace, flags) in [
        ("/sampled", SAMPLED_TRACE, "01"),
        ("/unsampled", UNSAMPLED_TRACE, "00"),
    ] {
        let status = client
            .get(format!("{base}{path}"))
            .header(
                "traceparent",
                format!("00-{trace}-00f067aa0ba902b7-{flags}"),
            )
            .send()
            .await
            .unwrap()
            .status();
        assert_eq!(status, 200);
    }

    // The duration is recorded when the response body ends: poll for both series.
    let mut om = String::new();
    for _ in 0..100 {
        om = exporter.render_format(Format::OpenMetrics).unwrap();
        if om.contains("http_route=\"/sampled\"") && om.contains("http_route=\"/unsampled\"") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let buckets = |route: &str| -> Vec<String> {
        om.lines()
            .filter(|l| l.starts_with("http_server_request_duration_seconds_bucket{"))
            .filter(|l| l.contains(&format!("http_route=\"{route}\"")))
            .map(str::to_owned)
            .collect()
    };
    let sampled: Vec<String> = buckets("/sampled")
        .into_iter()
        .filter(|l| l.contains(" # {"))
        .collect();
    assert_eq!(sampled.len(), 1, "one exemplar, on one bucket:\n{om}");
    let line = &sampled[0];
    assert!(
        line.contains(&format!("trace_id=\"{SAMPLED_TRACE}\"")),
        "{line}"
    );
    // The span id is the server span's own, a child of the caller's.
    assert!(
        line.contains("span_id=\"") && !line.contains("00f067aa0ba902b7"),
        "{line}"
    );
    assert!(!buckets("/unsampled").is_empty(), "{om}");
    assert!(
        buckets("/unsampled").iter().all(|l| !l.contains(" # {")),
        "an unsampled request leaves no exemplar:\n{om}"
    );
    let text = exporter.render_format(Format::Text).unwrap();
    assert!(!text.contains("trace_id"), "{text}");
    server.abort();
}
