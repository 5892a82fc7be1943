//! Percent-encoded secrets in request URLs, through the HTTP middleware and a real OTLP export:
//! under a neutral query key and in a path segment, an AWS secret, a postgres password, a bearer
//! token, a PEM key, a home directory and a GCP service-account `private_key` never reach the
//! collector, while the rest of the URL does. (Generated shapes, not real credentials.)

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::routing::get;
use ferrotel_http::{HttpInstrumentation, HttpLayer};
use ferrotel_testing::{AttrValue, FakeReceiver};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Plain secret, and the part of it that must not arrive in any form.
const SECRETS: &[(&str, &str)] = &[
    (
        "aws_secret_access_key=q8Zr4Lw1Vt6Nx3Mb9Kc2Jd5Hf7Gs0Pa4Ye8Ui1Ok",
        "q8Zr4Lw1Vt6Nx3Mb9Kc2Jd5Hf7Gs0Pa4Ye8Ui1Ok",
    ),
    (
        "postgres://app:S3cr3tPassw0rd@db.internal:5432/orders",
        "S3cr3tPassw0rd",
    ),
    (
        "Authorization: Bearer fb3ZxQw9TqLp2Vn7Rk5Ms8Jd",
        "fb3ZxQw9TqLp2Vn7Rk5Ms8Jd",
    ),
    (
        "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----",
        "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC",
    ),
    ("/home/mallory/projects/x", "mallory"),
    (
        r#"{"type":"service_account","private_key":"-----BEGIN PRIVATE KEY-----\nMIIEvgIBADANBgkqhkiG9w0BAQEFAAS\n-----END PRIVATE KEY-----\n"}"#,
        "MIIEvgIBADANBgkqhkiG9w0BAQEFAAS",
    ),
];

/// `encodeURIComponent`.
fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

async fn request(addr: SocketAddr, target: &str) -> u16 {
    let request = async {
        let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        let head = format!("GET {target} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn percent_encoded_secrets_in_urls_never_reach_the_collector() {
    let receiver = FakeReceiver::start().unwrap();
    let guard = ferrotel::builder()
        .service_name("url-secrets")
        .endpoint(receiver.http_endpoint())
        .protocol(ferrotel::Protocol::HttpProtobuf)
        .env_lookup(|_| None)
        .console_format(ferrotel::ConsoleFormat::Off)
        .span_schedule_delay(Duration::from_millis(100))
        .init()
        .expect("init");

    let app = Router::new()
        .route("/files/{name}", get(|| async { "ok" }))
        .route("/search", get(|| async { "ok" }))
        .layer(HttpLayer::new(HttpInstrumentation::new()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move { axum::serve(listener, app).await });

    for (plain, _) in SECRETS {
        let encoded = encode(plain);
        assert_eq!(
            request(addr, &format!("/search?page=2&q={encoded}")).await,
            200
        );
        assert_eq!(request(addr, &format!("/files/{encoded}")).await, 200);
    }
    let expected = 2 * SECRETS.len();
    receiver
        .wait_for(Duration::from_secs(20), |r| r.spans().len() >= expected)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    server.abort();
    let report = tokio::task::spawn_blocking(move || guard.shutdown())
        .await
        .unwrap();
    assert!(report.traces.is_ok(), "{report:?}");

    let spans = receiver.spans();
    assert_eq!(spans.len(), expected, "{}", receiver.summary());
    let text_of = |span: &ferrotel_testing::ReceivedSpan, key: &str| match span.attribute(key) {
        Some(AttrValue::String(s)) => Some(s),
        _ => None,
    };
    let mut queries = 0;
    let mut paths = 0;
    for span in &spans {
        let query = text_of(span, "url.query");
        let path = text_of(span, "url.path").expect("url.path");
        if let Some(query) = &query {
            queries += 1;
            assert!(query.starts_with("page=2&q="), "{query}");
        } else {
            paths += 1;
            assert!(path.starts_with("/files/"), "{path}");
        }
        let all = format!("{:?}", span.attributes());
        for (_, secret) in SECRETS {
            assert!(!all.contains(secret), "{secret} arrived: {all}");
            assert!(
                !all.contains(&encode(secret)),
                "{secret} arrived encoded: {all}"
            );
        }
        assert!(all.contains("REDACTED"), "{all}");
    }
    assert_eq!((queries, paths), (SECRETS.len(), SECRETS.len()));
}
