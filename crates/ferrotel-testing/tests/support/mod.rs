//! A served axum app under `HttpLayer`, and a plain HTTP/1.1 client, shared by the capture tests.

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::extract::Path;
use axum::routing::get;
use ferrotel_http::{HttpInstrumentation, HttpLayer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A handler with an `#[instrument]` child span, a log record and a counter.
#[tracing::instrument(name = "load_item", skip_all, fields(item.id = %id))]
async fn load_item(id: u64, orders: opentelemetry::metrics::Counter<u64>, service: &'static str) {
    tracing::info!(item.id = id, "item loaded");
    orders.add(
        id,
        &[
            opentelemetry::KeyValue::new("service", service),
            opentelemetry::KeyValue::new("kind", "item"),
        ],
    );
    tokio::task::yield_now().await;
}

/// Serves `GET /items/{id}` on a free loopback port, on the current runtime. The counter is
/// created once here, from the global meter, like a service's instruments.
pub async fn serve(service: &'static str) -> SocketAddr {
    let orders = opentelemetry::global::meter("shop")
        .u64_counter("shop.items.loaded")
        .build();
    let app = Router::new()
        .route(
            "/items/{id}",
            get(move |Path(id): Path<u64>| {
                let orders = orders.clone();
                async move {
                    load_item(id, orders, service).await;
                    "ok"
                }
            }),
        )
        .layer(HttpLayer::new(HttpInstrumentation::new()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    addr
}

/// `GET path` over a fresh connection; the status code. Bounded by a timeout.
pub async fn get_status(addr: SocketAddr, path: &str) -> u16 {
    let request = async {
        let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        let head = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
        stream.write_all(head.as_bytes()).await.unwrap();
        let mut response = Vec::new();
        stream.read_to_end(&mut response).await.unwrap();
        let text = String::from_utf8_lossy(&response);
        text.split(' ').nth(1).unwrap().parse().unwrap()
    };
    tokio::time::timeout(Duration::from_secs(10), request)
        .await
        .expect("the server answers within 10 s")
}
