//! axum route for `/metrics` (feature `axum`).

use crate::PrometheusExporter;
use ::axum::Router;
use ::axum::http::{HeaderMap, StatusCode, header};
use ::axum::response::{IntoResponse, Response};
use ::axum::routing::get;

/// Serves one scrape for the request headers: 200 with the exposition, or 500 with the reason.
pub fn scrape(exporter: &PrometheusExporter, headers: &HeaderMap) -> Response {
    let accept = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok());
    match exporter.render(accept) {
        Ok(e) => ([(header::CONTENT_TYPE, e.content_type)], e.body).into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    }
}

/// A router serving `GET /metrics`.
pub fn router<S: Clone + Send + Sync + 'static>(exporter: PrometheusExporter) -> Router<S> {
    Router::new().route(
        "/metrics",
        get(move |headers: HeaderMap| async move { scrape(&exporter, &headers) }),
    )
}
