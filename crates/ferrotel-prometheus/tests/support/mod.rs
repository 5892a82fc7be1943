//! Shared test support: axum and actix-web services behind the `ferrotel-http` middleware,
//! serving the same routes and `/metrics` from one exporter per service.
#![allow(dead_code)]

use std::net::{SocketAddr, TcpListener};
use std::time::Duration;

use ferrotel_http::HttpInstrumentation;
use ferrotel_prometheus::PrometheusExporter;
use opentelemetry_sdk::metrics::SdkMeterProvider;

/// Per-service metrics: a meter provider whose only reader is the Prometheus exporter.
#[derive(Clone)]
pub struct Telemetry {
    pub provider: SdkMeterProvider,
    pub exporter: PrometheusExporter,
}

impl Telemetry {
    pub fn new() -> Self {
        let exporter = PrometheusExporter::default();
        let provider = SdkMeterProvider::builder()
            .with_reader(exporter.clone())
            .build();
        Self { provider, exporter }
    }

    fn instrumentation(&self) -> HttpInstrumentation {
        HttpInstrumentation::builder()
            .meter_provider(&self.provider)
            .build()
    }
}

/// A running server; stopped on drop.
pub struct TestServer {
    pub base: String,
    stop: Option<Box<dyn FnOnce() + Send>>,
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            stop();
        }
    }
}

/// A framework under test: `GET /users/{id}`, `GET /fail` (500) and `GET /metrics`.
pub trait Framework {
    fn start(telemetry: &Telemetry) -> TestServer;
}

fn loopback_listener() -> (TcpListener, SocketAddr) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
    let addr = listener.local_addr().expect("local addr");
    (listener, addr)
}

pub struct Axum;

impl Framework for Axum {
    fn start(telemetry: &Telemetry) -> TestServer {
        use axum::Router;
        use axum::routing::get;
        use ferrotel_http::HttpLayer;

        let (listener, addr) = loopback_listener();
        let app = Router::new()
            .route("/users/{id}", get(|| async { "user" }))
            .route(
                "/fail",
                get(|| async { (axum::http::StatusCode::INTERNAL_SERVER_ERROR, "boom") }),
            )
            .merge(ferrotel_prometheus::axum::router(
                telemetry.exporter.clone(),
            ))
            .layer(HttpLayer::new(telemetry.instrumentation()));
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async move {
                listener.set_nonblocking(true).expect("nonblocking");
                let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
                axum::serve(listener, app)
                    .with_graceful_shutdown(async move {
                        let _ = stop_rx.await;
                    })
                    .await
                    .expect("serve");
            });
        });
        TestServer {
            base: format!("http://{addr}"),
            stop: Some(Box::new(move || {
                let _ = stop_tx.send(());
                let _ = thread.join();
            })),
        }
    }
}

pub struct Actix;

impl Framework for Actix {
    fn start(telemetry: &Telemetry) -> TestServer {
        use actix_web::{App, HttpResponse, HttpServer, web};
        use ferrotel_http::HttpMiddleware;

        let (listener, addr) = loopback_listener();
        let instrumentation = telemetry.instrumentation();
        let exporter = telemetry.exporter.clone();
        let (handle_tx, handle_rx) = std::sync::mpsc::channel();
        let thread = std::thread::spawn(move || {
            actix_rt::System::new().block_on(async move {
                let server = HttpServer::new(move || {
                    App::new()
                        .wrap(HttpMiddleware::new(instrumentation.clone()))
                        .route("/users/{id}", web::get().to(|| async { "user" }))
                        .route(
                            "/fail",
                            web::get()
                                .to(|| async { HttpResponse::InternalServerError().body("boom") }),
                        )
                        .configure(ferrotel_prometheus::actix::configure(exporter.clone()))
                })
                .workers(1)
                .disable_signals()
                .listen(listener)
                .expect("listen")
                .run();
                let _ = handle_tx.send(server.handle());
                server.await.expect("server");
            });
        });
        let handle = handle_rx
            .recv_timeout(Duration::from_secs(10))
            .expect("actix server started");
        TestServer {
            base: format!("http://{addr}"),
            stop: Some(Box::new(move || {
                futures::executor::block_on(handle.stop(false));
                let _ = thread.join();
            })),
        }
    }
}
