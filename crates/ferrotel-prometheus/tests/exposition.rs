//! `/metrics` behind the `ferrotel-http` middleware, on axum and actix-web: the negotiated
//! formats carry the same series, and client-chosen paths add none.

mod support;

use std::time::Duration;

use support::*;

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(15))
        .build()
        .expect("client")
}

/// GETs `/metrics` until the body contains `needle` (requests are recorded when the server
/// finishes the response body, which can be just after the client has it).
async fn scrape_until(
    c: &reqwest::Client,
    base: &str,
    accept: Option<&str>,
    needle: &str,
) -> String {
    for _ in 0..250 {
        let mut req = c.get(format!("{base}/metrics"));
        if let Some(accept) = accept {
            req = req.header("accept", accept);
        }
        let response = req.send().await.unwrap();
        assert_eq!(response.status(), 200);
        let expected_type = if accept.is_some() {
            ferrotel_prometheus::OPENMETRICS_CONTENT_TYPE
        } else {
            ferrotel_prometheus::TEXT_CONTENT_TYPE
        };
        assert_eq!(response.headers()["content-type"], expected_type);
        let body = response.text().await.unwrap();
        if body.contains(needle) {
            return body;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("/metrics never contained {needle}");
}

/// Prometheus text by default, OpenMetrics on request, the same series in both.
async fn text_and_openmetrics<F: Framework>() {
    let telemetry = Telemetry::new();
    let server = F::start(&telemetry);
    let c = client();
    c.get(format!("{}/users/5", server.base))
        .send()
        .await
        .unwrap();
    let body = scrape_until(&c, &server.base, None, "http_server_requests_total{").await;
    assert!(body.contains("# TYPE http_server_requests_total counter"));
    assert!(body.contains("# TYPE http_server_request_duration_seconds histogram"));
    assert!(body.contains("le=\"0.005\""));
    assert!(body.contains("http_route=\"/users/{id}\""));
    assert!(body.contains("otel_scope_name=\"ferrotel-http\""));
    assert!(
        !body.contains("http_route=\"/metrics\""),
        "scrapes count themselves"
    );
    let om = scrape_until(
        &c,
        &server.base,
        Some("application/openmetrics-text;version=1.0.0,text/plain;q=0.5"),
        "# EOF",
    )
    .await;
    assert!(om.contains("# TYPE http_server_requests counter"));
    assert!(om.contains("# UNIT http_server_request_duration_seconds seconds"));
    let series = |text: &str| -> Vec<String> {
        let mut lines: Vec<String> = text
            .lines()
            .filter(|l| l.starts_with("http_server_requests_total{"))
            .map(str::to_owned)
            .collect();
        lines.sort();
        lines
    };
    assert_eq!(
        series(&body),
        series(&om),
        "both formats carry the same series"
    );
}

/// 1,000 requests to random unknown paths add no line to `/metrics` once the first 404 is in.
async fn random_paths_add_no_lines<F: Framework>() {
    use futures_util::StreamExt;
    let telemetry = Telemetry::new();
    let server = F::start(&telemetry);
    let c = client();
    c.get(format!("{}/unknown-seed", server.base))
        .send()
        .await
        .unwrap();
    let before = scrape_until(&c, &server.base, None, "http_response_status_code=\"404\"").await;
    let statuses = futures_util::stream::iter(0..1_000u32)
        .map(|i| {
            let c = c.clone();
            let url = format!("{}/{:016x}/{i}?q={i}", server.base, rand::random::<u64>());
            async move { c.get(url).send().await.map(|r| r.status().as_u16()) }
        })
        .buffer_unordered(32)
        .collect::<Vec<_>>()
        .await;
    assert!(statuses.iter().all(|s| matches!(s, Ok(404))));
    let count_line = |text: &str| {
        text.lines()
            .find(|l| {
                l.starts_with("http_server_requests_total{")
                    && l.contains("http_response_status_code=\"404\"")
            })
            .map(str::to_owned)
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let after = loop {
        assert!(
            std::time::Instant::now() < deadline,
            "1,001 404s never counted"
        );
        let body = telemetry.exporter.render(None).unwrap().body;
        if count_line(&body).is_some_and(|l| l.ends_with(" 1001")) {
            break body;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(
        after.lines().count(),
        before.lines().count(),
        "/metrics grew"
    );
}

macro_rules! per_framework {
    ($module:ident, $framework:ty) => {
        mod $module {
            #[tokio::test]
            async fn text_and_openmetrics() {
                super::text_and_openmetrics::<$framework>().await
            }
            #[tokio::test]
            async fn random_paths_add_no_lines() {
                super::random_paths_add_no_lines::<$framework>().await
            }
        }
    };
}

per_framework!(axum_tower, super::Axum);
per_framework!(actix_web, super::Actix);
