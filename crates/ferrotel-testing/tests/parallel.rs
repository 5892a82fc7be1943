//! Sixteen tests in one binary, run in parallel by the test harness, each serving its own axum
//! app on its own multi-thread runtime: each capture holds exactly its own spans, logs and
//! metric sums, never a neighbour's.

mod support;

use std::time::{Duration, Instant};

use ferrotel_testing::capture::{self, Capture};

/// Reads until `ready` holds, at most 5 s (a server span ends just after the response is sent).
fn settle(capture: &Capture, ready: impl Fn(&Capture) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while !ready(capture) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
}

async fn serve_and_check(index: u64, service: &'static str) {
    let capture = capture::start(service);
    let addr = support::serve(service).await;
    for id in 1..=index {
        assert_eq!(
            support::get_status(addr, &format!("/items/{id}")).await,
            200
        );
    }
    let requests = index as usize;
    settle(&capture, |c| c.spans().len() >= 2 * requests);

    let spans = capture.spans();
    let server: Vec<_> = spans
        .iter()
        .filter(|s| s.name == "GET /items/{id}")
        .collect();
    let handlers: Vec<_> = spans.iter().filter(|s| s.name == "load_item").collect();
    assert_eq!(server.len(), requests, "{service}: {spans:#?}");
    assert_eq!(handlers.len(), requests, "{service}");
    assert_eq!(spans.len(), 2 * requests, "{service}: only its own spans");
    let mut ids: Vec<String> = handlers
        .iter()
        .map(|s| capture::attribute(s, "item.id").unwrap().to_string())
        .collect();
    ids.sort_by_key(|id| id.parse::<u64>().unwrap());
    let expected: Vec<String> = (1..=index).map(|id| id.to_string()).collect();
    assert_eq!(ids, expected, "{service}");

    let logs = capture.logs();
    let loaded: Vec<_> = logs.iter().filter(|l| l.body == "item loaded").collect();
    assert_eq!(loaded.len(), requests, "{service}: {logs:#?}");

    let total = (index * (index + 1) / 2) as f64;
    assert_eq!(
        capture.counter_sum("shop.items.loaded", &[("service", service.into())]),
        Some(total),
        "{service}"
    );
    assert_eq!(
        capture.counter_sum("shop.items.loaded", &[]),
        Some(total),
        "{service}: no other test's measurements"
    );
    assert_eq!(
        capture.histogram_count("http.server.request.duration", &[]),
        Some(index),
        "{service}"
    );
}

macro_rules! parallel_tests {
    ($($name:ident => $index:expr),* $(,)?) => {$(
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $name() {
            serve_and_check($index, stringify!($name)).await;
        }
    )*};
}

parallel_tests!(
    svc_01 => 1, svc_02 => 2, svc_03 => 3, svc_04 => 4,
    svc_05 => 5, svc_06 => 6, svc_07 => 7, svc_08 => 8,
    svc_09 => 9, svc_10 => 10, svc_11 => 11, svc_12 => 12,
    svc_13 => 13, svc_14 => 14, svc_15 => 15, svc_16 => 16,
);
