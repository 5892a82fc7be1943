//! actix-web service configuration for `/metrics` (feature `actix`).

use crate::PrometheusExporter;
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};

/// Serves one scrape for the request: 200 with the exposition, or 500 with the reason.
pub fn scrape(exporter: &PrometheusExporter, req: &HttpRequest) -> HttpResponse {
    let accept = req
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok());
    match exporter.render(accept) {
        Ok(e) => HttpResponse::Ok().content_type(e.content_type).body(e.body),
        Err(e) => HttpResponse::InternalServerError().body(e.to_string()),
    }
}

/// Registers `GET /metrics`: `App::new().configure(ferrotel_ferrotel_prometheus::actix::configure(exporter))`.
pub fn configure(exporter: PrometheusExporter) -> impl FnOnce(&mut web::ServiceConfig) {
    move |cfg| {
        cfg.app_data(web::Data::new(exporter)).route(
            "/metrics",
            web::get().to(
                |exporter: web::Data<PrometheusExporter>, req: HttpRequest| async move {
                    scrape(&exporter, &req)
                },
            ),
        );
    }
}
