//! ONE conformance suite, run against axum (tower layer) and actix-web (middleware): every
//! check below is a generic function instantiated for both frameworks by `conformance!`.

mod support;

use std::time::Duration;

use ferrotel_http::health::{CheckOptions, HealthRegistry};
use ferrotel_http::semconv::DURATION_BUCKETS;
use opentelemetry::trace::{SpanKind, Status, TraceId};
use support::*;

const DURATION: &str = "http.server.request.duration";
const REQUESTS: &str = "http.server.requests";
const ACTIVE: &str = "http.server.active_requests";

fn healthy_registry() -> HealthRegistry {
    HealthRegistry::builder()
        .version("1.2.3")
        .git_commit("abc123")
        .check("db", || async { Ok(()) })
        .build()
}

fn start<F: Framework>() -> (TestServer, Telemetry) {
    let telemetry = Telemetry::new();
    let server = F::start(AppSpec::new(&telemetry, healthy_registry()));
    (server, telemetry)
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(15))
        .build()
        .expect("client")
}

fn has(p: &Point, key: &str, value: &str) -> bool {
    p.attrs.get(key).map(String::as_str) == Some(value)
}

/// Route templates label metrics and name spans; handler spans become children.
async fn route_template<F: Framework>() {
    let (server, telemetry) = start::<F>();
    let response = client()
        .get(format!("{}/users/42", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let trace_id = trace_id_of(&response);
    assert_eq!(response.text().await.unwrap(), "user 42");

    let point = eventually("duration point", || {
        telemetry
            .points(DURATION)
            .into_iter()
            .find(|p| has(p, "http.route", "/users/{id}"))
    })
    .await;
    assert_eq!(point.value, 1.0);
    for (key, value) in [
        ("http.request.method", "GET"),
        ("http.response.status_code", "200"),
        ("url.scheme", "http"),
        ("network.protocol.version", "1.1"),
    ] {
        assert!(
            has(&point, key, value),
            "{key}={value} missing in {:?}",
            point.attrs
        );
    }
    assert!(!point.attrs.contains_key("error.type"));
    assert!(
        point.attrs.values().all(|v| !v.contains("42")),
        "raw path leaked: {:?}",
        point.attrs
    );

    let spans = eventually("server span", || {
        let spans = trace_spans(trace_id);
        spans
            .iter()
            .any(|s| s.span_kind == SpanKind::Server)
            .then_some(spans)
    })
    .await;
    let server_span = spans
        .iter()
        .find(|s| s.span_kind == SpanKind::Server)
        .unwrap();
    assert_eq!(server_span.name, "GET /users/{id}");
    assert_eq!(
        span_attr(server_span, "http.route").as_deref(),
        Some("/users/{id}")
    );
    assert_eq!(
        span_attr(server_span, "url.path").as_deref(),
        Some("/users/42")
    );
    assert_eq!(
        span_attr(server_span, "http.response.status_code").as_deref(),
        Some("200")
    );
    assert_eq!(
        span_attr(server_span, "client.address").as_deref(),
        Some("127.0.0.1")
    );
    assert!(span_attr(server_span, "request_id").is_some());
    assert_eq!(server_span.status, Status::Unset);
    assert_eq!(server_span.instrumentation_scope.name(), "conformance");
    let child = eventually("handler span", || {
        trace_spans(trace_id)
            .into_iter()
            .find(|s| s.name == "load_user")
    })
    .await;
    assert_eq!(child.parent_span_id, server_span.span_context.span_id());
}

/// Methods outside the semconv set become `_OTHER` (label) and `HTTP` (span name).
async fn unknown_method_is_other<F: Framework>() {
    let (server, telemetry) = start::<F>();
    let method = reqwest::Method::from_bytes(b"PURGE").unwrap();
    let response = client()
        .request(method, format!("{}/any/1", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let trace_id = trace_id_of(&response);
    let point = eventually("_OTHER point", || {
        telemetry
            .points(REQUESTS)
            .into_iter()
            .find(|p| has(p, "http.request.method", "_OTHER"))
    })
    .await;
    assert!(has(&point, "http.route", "/any/{id}"));
    assert!(point.attrs.values().all(|v| v != "PURGE"));
    let span = eventually("span", || {
        trace_spans(trace_id)
            .into_iter()
            .find(|s| s.span_kind == SpanKind::Server)
    })
    .await;
    assert_eq!(span.name, "HTTP /any/{id}");
    assert_eq!(
        span_attr(&span, "http.request.method_original").as_deref(),
        Some("PURGE")
    );
}

/// Unmatched requests have no `http.route` (never the raw path).
async fn not_found_has_no_route<F: Framework>() {
    let (server, telemetry) = start::<F>();
    let response = client()
        .get(format!("{}/no/such/path", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    let trace_id = trace_id_of(&response);
    let point = eventually("404 point", || {
        telemetry
            .points(DURATION)
            .into_iter()
            .find(|p| has(p, "http.response.status_code", "404"))
    })
    .await;
    assert!(!point.attrs.contains_key("http.route"), "{:?}", point.attrs);
    assert!(point.attrs.values().all(|v| !v.contains("no/such")));
    let span = eventually("span", || {
        trace_spans(trace_id)
            .into_iter()
            .find(|s| s.span_kind == SpanKind::Server)
    })
    .await;
    assert_eq!(span.name, "GET");
    assert_eq!(span.status, Status::Unset, "4xx is not a server error");
}

/// 5xx sets `error.type` and the span's error status.
async fn server_error_status<F: Framework>() {
    let (server, telemetry) = start::<F>();
    let response = client()
        .get(format!("{}/fail", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 500);
    let trace_id = trace_id_of(&response);
    let point = eventually("500 point", || {
        telemetry
            .points(DURATION)
            .into_iter()
            .find(|p| has(p, "http.route", "/fail"))
    })
    .await;
    assert!(has(&point, "http.response.status_code", "500"));
    assert!(has(&point, "error.type", "500"));
    let span = eventually("span", || {
        trace_spans(trace_id)
            .into_iter()
            .find(|s| s.span_kind == SpanKind::Server)
    })
    .await;
    assert!(
        matches!(span.status, Status::Error { .. }),
        "{:?}",
        span.status
    );
    assert_eq!(span_attr(&span, "error.type").as_deref(), Some("500"));
}

/// Durations use the semconv buckets; body sizes are recorded for request and response.
async fn durations_and_sizes<F: Framework>() {
    let (server, telemetry) = start::<F>();
    let body = vec![b'x'; 1000];
    let response = client()
        .post(format!("{}/echo", server.base))
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.bytes().await.unwrap().len(), 1000);
    let duration = eventually("duration", || {
        telemetry
            .points(DURATION)
            .into_iter()
            .find(|p| has(p, "http.route", "/echo"))
    })
    .await;
    assert_eq!(duration.value, 1.0);
    assert!(duration.sum > 0.0);
    assert_eq!(duration.bounds, DURATION_BUCKETS.to_vec());
    let request_size = eventually("request size", || {
        telemetry
            .points("http.server.request.body.size")
            .into_iter()
            .find(|p| has(p, "http.route", "/echo"))
    })
    .await;
    assert_eq!((request_size.value, request_size.sum), (1.0, 1000.0));
    let response_size = eventually("response size", || {
        telemetry
            .points("http.server.response.body.size")
            .into_iter()
            .find(|p| has(p, "http.route", "/echo"))
    })
    .await;
    assert_eq!((response_size.value, response_size.sum), (1.0, 1000.0));
}

/// `http.server.active_requests` counts an in-flight request and returns to 0.
async fn active_requests_return_to_zero<F: Framework>() {
    let (server, telemetry) = start::<F>();
    let active = |t: &Telemetry| -> f64 {
        t.points(ACTIVE)
            .iter()
            .filter(|p| has(p, "http.request.method", "GET"))
            .map(|p| p.value)
            .sum()
    };
    let url = format!("{}/slow", server.base);
    let in_flight = tokio::spawn(async move { client().get(url).send().await.map(|r| r.status()) });
    eventually("one active request", || {
        (active(&telemetry) == 1.0).then_some(())
    })
    .await;
    assert_eq!(in_flight.await.unwrap().unwrap(), 200);
    eventually("zero active requests", || {
        (active(&telemetry) == 0.0).then_some(())
    })
    .await;
    let point = telemetry.points(ACTIVE).into_iter().next().unwrap();
    assert_eq!(
        point.attrs.len(),
        2,
        "active_requests carries method and scheme only: {:?}",
        point.attrs
    );
}

/// An incoming traceparent continues the trace (remote parent); baggage is accepted.
async fn traceparent_continues_trace<F: Framework>() {
    let (server, _telemetry) = start::<F>();
    // Random ids: both frameworks' tests share one span exporter.
    let trace = format!("{:032x}", rand::random::<u128>() | 1);
    let parent = format!("{:016x}", rand::random::<u64>() | 1);
    let response = client()
        .get(format!("{}/users/1?sig=secret&page=2", server.base))
        .header("traceparent", format!("00-{trace}-{parent}-01"))
        .header("baggage", "tenant=acme")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let trace_id = trace_id_of(&response);
    assert_eq!(trace_id, TraceId::from_hex(&trace).unwrap());
    let span = eventually("span", || {
        trace_spans(trace_id)
            .into_iter()
            .find(|s| s.span_kind == SpanKind::Server)
    })
    .await;
    assert_eq!(span.parent_span_id.to_string(), parent);
    assert!(span.parent_span_is_remote);
    assert_eq!(
        span_attr(&span, "url.query").as_deref(),
        Some("sig=REDACTED&page=2")
    );
    let header = response.headers()["traceresponse"]
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        header,
        format!("00-{trace}-{}-01", span.span_context.span_id())
    );
}

/// A malformed traceparent starts a new trace, without error.
async fn malformed_traceparent_starts_new_trace<F: Framework>() {
    let (server, _telemetry) = start::<F>();
    let response = client()
        .get(format!("{}/users/2", server.base))
        .header("traceparent", "00-zzzz-not-a-trace")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let trace_id = trace_id_of(&response);
    assert_ne!(trace_id, TraceId::INVALID);
    let span = eventually("span", || {
        trace_spans(trace_id)
            .into_iter()
            .find(|s| s.span_kind == SpanKind::Server)
    })
    .await;
    assert_eq!(span.parent_span_id, opentelemetry::trace::SpanId::INVALID);
}

/// Ids one or two hex digits short (which the upstream propagator pads) and uppercase hex are
/// not W3C Trace Context: the request starts a new trace instead of joining a forged one.
async fn short_or_uppercase_ids_start_new_trace<F: Framework>() {
    let (server, _telemetry) = start::<F>();
    let trace = format!("{:030x}", rand::random::<u128>() >> 8 | 1);
    let parent = format!("{:016x}", rand::random::<u64>() | 1);
    for header in [
        format!("00-{trace}-{parent}-01"),
        format!("00-{trace}00-{}-01", &parent[..15]),
        format!("00-{}-{parent}-01", format!("{trace}ab").to_uppercase()),
    ] {
        let response = client()
            .get(format!("{}/users/4", server.base))
            .header("traceparent", &header)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        let trace_id = trace_id_of(&response);
        assert!(
            !trace_id.to_string().contains(&trace),
            "{header}: joined {trace_id}"
        );
        let span = eventually("span", || {
            trace_spans(trace_id)
                .into_iter()
                .find(|s| s.span_kind == SpanKind::Server)
        })
        .await;
        assert_eq!(
            span.parent_span_id,
            opentelemetry::trace::SpanId::INVALID,
            "{header}"
        );
    }
}

/// Request ids: propagated when valid, generated otherwise, always echoed.
async fn request_id_header<F: Framework>() {
    let (server, _telemetry) = start::<F>();
    let url = format!("{}/users/3", server.base);
    let r = client()
        .get(&url)
        .header("x-request-id", "req-abc_123")
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["x-request-id"], "req-abc_123");
    let trace_id = trace_id_of(&r);
    let span = eventually("span", || {
        trace_spans(trace_id)
            .into_iter()
            .find(|s| s.span_kind == SpanKind::Server)
    })
    .await;
    assert_eq!(
        span_attr(&span, "request_id").as_deref(),
        Some("req-abc_123")
    );

    let r = client().get(&url).send().await.unwrap();
    let generated = r.headers()["x-request-id"].to_str().unwrap().to_owned();
    assert_eq!(generated.len(), 32);
    assert!(generated.bytes().all(|b| b.is_ascii_hexdigit()));

    let r = client()
        .get(&url)
        .header("x-request-id", "bad id \"with quotes\"")
        .send()
        .await
        .unwrap();
    let replaced = r.headers()["x-request-id"].to_str().unwrap();
    assert_eq!(replaced.len(), 32);
}

/// Health endpoints: JSON shapes and status codes, and they stay out of request metrics.
async fn health_endpoints<F: Framework>() {
    let (server, telemetry) = start::<F>();
    let c = client();
    let health = c
        .get(format!("{}/health", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    assert!(
        health.headers().get("traceresponse").is_none(),
        "health is not traced by default"
    );
    let json: serde_json::Value = health.json().await.unwrap();
    assert_eq!(json["status"], "healthy");
    assert_eq!(json["version"], "1.2.3");
    assert_eq!(json["checks"]["db"]["status"], "healthy");
    assert!(json["checks"]["db"]["latency_ms"].is_u64());
    assert!(json["uptime"].as_str().unwrap().ends_with('s'));

    let livez = c
        .get(format!("{}/livez", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(livez.status(), 200);
    let readyz = c
        .get(format!("{}/readyz", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(readyz.status(), 200);
    let version: serde_json::Value = c
        .get(format!("{}/version", server.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(version["version"], "1.2.3");
    assert_eq!(version["git_commit"], "abc123");
    assert!(version["uptime_seconds"].is_u64());
    let metrics = c
        .get(format!("{}/metrics", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(metrics.status(), 200);

    // A traced request afterwards proves the recorder works, and that nothing above was counted.
    let r = c
        .get(format!("{}/users/9", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    eventually("users point", || {
        telemetry
            .points(REQUESTS)
            .into_iter()
            .find(|p| has(p, "http.route", "/users/{id}"))
    })
    .await;
    let total: f64 = telemetry.points(REQUESTS).iter().map(|p| p.value).sum();
    assert_eq!(
        total,
        1.0,
        "health/metrics requests were counted: {:?}",
        telemetry.points(REQUESTS)
    );
}

/// A hung required check reports `timeout` within its deadline; /health and /readyz fail.
async fn hung_check_times_out<F: Framework>() {
    let telemetry = Telemetry::new();
    let registry = HealthRegistry::builder()
        .version("1.2.3")
        .check("db", || async { Ok(()) })
        .check_with(
            CheckOptions::new("cache").timeout(Duration::from_millis(200)),
            std::future::pending::<Result<(), String>>,
        )
        .check_with(CheckOptions::new("search").optional(), || async {
            Err("index missing".into())
        })
        .build();
    let server = F::start(AppSpec::new(&telemetry, registry));
    let c = client();
    let health = c
        .get(format!("{}/health", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 503);
    let json: serde_json::Value = health.json().await.unwrap();
    assert_eq!(json["status"], "unhealthy");
    assert_eq!(json["checks"]["cache"]["status"], "timeout");
    assert_eq!(json["checks"]["db"]["status"], "healthy");
    assert_eq!(json["checks"]["search"]["status"], "unhealthy");
    assert_eq!(json["checks"]["search"]["error"], "index missing");
    let readyz = c
        .get(format!("{}/readyz", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(readyz.status(), 503);
    let readyz: serde_json::Value = readyz.json().await.unwrap();
    assert!(
        readyz["checks"].get("search").is_none(),
        "optional checks do not gate readiness"
    );
    assert_eq!(
        c.get(format!("{}/livez", server.base))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
}

/// 10,000 requests to random unknown paths create no new series.
async fn random_paths_create_no_series<F: Framework>() {
    use futures_util::StreamExt;
    let (server, telemetry) = start::<F>();
    let c = client();
    let first = c
        .get(format!("{}/unknown-seed", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(first.status(), 404);
    let series = |t: &Telemetry| {
        [
            DURATION,
            REQUESTS,
            ACTIVE,
            "http.server.request.body.size",
            "http.server.response.body.size",
        ]
        .iter()
        .map(|n| t.points(n).len())
        .sum::<usize>()
    };
    let before = eventually("first series", || {
        let n = series(&telemetry);
        (telemetry.points(REQUESTS).len() == 1).then_some(n)
    })
    .await;

    let statuses = futures_util::stream::iter(0..10_000u32)
        .map(|i| {
            let c = c.clone();
            let url = format!("{}/{:016x}/{i}?q={i}", server.base, rand::random::<u64>());
            async move { c.get(url).send().await.map(|r| r.status().as_u16()) }
        })
        .buffer_unordered(32)
        .collect::<Vec<_>>()
        .await;
    assert!(
        statuses.iter().all(|s| matches!(s, Ok(404))),
        "every random path is a 404"
    );

    let count = eventually("10,001 requests counted", || {
        let total: f64 = telemetry.points(REQUESTS).iter().map(|p| p.value).sum();
        (total == 10_001.0).then_some(total)
    })
    .await;
    assert_eq!(count, 10_001.0);
    assert_eq!(series(&telemetry), before, "new series appeared");
}

/// Service A calls B through the reqwest middleware; A's server span, A's client span and B's
/// server span share one trace id, parented in that order.
async fn propagation_a_to_b<F: Framework>() {
    let telemetry_b = Telemetry::new();
    let b = F::start(AppSpec::new(&telemetry_b, healthy_registry()));
    let telemetry_a = Telemetry::new();
    let mut spec = AppSpec::new(&telemetry_a, healthy_registry());
    spec.downstream = Some(b.base.clone());
    let a = F::start(spec);

    let response = client()
        .get(format!("{}/call", a.base))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let trace_id = trace_id_of(&response);
    assert_eq!(response.text().await.unwrap(), "user 7");
    let spans = eventually("three spans", || {
        let spans = trace_spans(trace_id);
        let servers = spans
            .iter()
            .filter(|s| s.span_kind == SpanKind::Server)
            .count();
        let clients = spans
            .iter()
            .filter(|s| s.span_kind == SpanKind::Client)
            .count();
        (servers == 2 && clients == 1).then_some(spans)
    })
    .await;
    let a_server = spans
        .iter()
        .find(|s| s.name == "GET /call")
        .expect("A server span");
    let client_span = spans
        .iter()
        .find(|s| s.span_kind == SpanKind::Client)
        .unwrap();
    let b_server = spans
        .iter()
        .find(|s| s.name == "GET /users/{id}")
        .expect("B server span");
    assert_eq!(client_span.parent_span_id, a_server.span_context.span_id());
    assert_eq!(b_server.parent_span_id, client_span.span_context.span_id());
    assert!(b_server.parent_span_is_remote);
    assert_eq!(client_span.name, "GET");
    assert_eq!(
        span_attr(client_span, "http.response.status_code").as_deref(),
        Some("200")
    );

    let client_duration = eventually("client duration", || {
        telemetry_a
            .points("http.client.request.duration")
            .into_iter()
            .next()
    })
    .await;
    assert_eq!(client_duration.value, 1.0);
    assert!(has(&client_duration, "http.response.status_code", "200"));
    assert!(has(&client_duration, "server.address", "127.0.0.1"));
}

macro_rules! conformance {
    ($module:ident, $framework:ty) => {
        mod $module {
            use super::*;

            #[tokio::test]
            async fn route_template() {
                super::route_template::<$framework>().await
            }
            #[tokio::test]
            async fn unknown_method_is_other() {
                super::unknown_method_is_other::<$framework>().await
            }
            #[tokio::test]
            async fn not_found_has_no_route() {
                super::not_found_has_no_route::<$framework>().await
            }
            #[tokio::test]
            async fn server_error_status() {
                super::server_error_status::<$framework>().await
            }
            #[tokio::test]
            async fn durations_and_sizes() {
                super::durations_and_sizes::<$framework>().await
            }
            #[tokio::test]
            async fn active_requests_return_to_zero() {
                super::active_requests_return_to_zero::<$framework>().await
            }
            #[tokio::test]
            async fn traceparent_continues_trace() {
                super::traceparent_continues_trace::<$framework>().await
            }
            #[tokio::test]
            async fn malformed_traceparent_starts_new_trace() {
                super::malformed_traceparent_starts_new_trace::<$framework>().await
            }
            #[tokio::test]
            async fn short_or_uppercase_ids_start_new_trace() {
                super::short_or_uppercase_ids_start_new_trace::<$framework>().await
            }
            #[tokio::test]
            async fn request_id_header() {
                super::request_id_header::<$framework>().await
            }
            #[tokio::test]
            async fn health_endpoints() {
                super::health_endpoints::<$framework>().await
            }
            #[tokio::test]
            async fn hung_check_times_out() {
                super::hung_check_times_out::<$framework>().await
            }
            #[tokio::test]
            async fn random_paths_create_no_series() {
                super::random_paths_create_no_series::<$framework>().await
            }
            #[tokio::test]
            async fn propagation_a_to_b() {
                super::propagation_a_to_b::<$framework>().await
            }
        }
    };
}

conformance!(axum_tower, Axum);
conformance!(actix_web, Actix);
