//! The built-in load generator: real HTTP requests against the demo's own API at a fixed rate,
//! so that the HTTP server metrics and request spans exist (an external client would do the
//! same). Concurrency is bounded; when every slot is busy a tick is skipped and counted.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use rand::Rng as _;
use serde::Serialize;
use serde_json::json;
use tokio::sync::{Semaphore, watch};

/// Maximum requests in flight.
pub const MAX_IN_FLIGHT: usize = 64;

/// What the load generator did.
#[derive(Debug, Default, Serialize)]
pub struct LoadStats {
    /// Requests sent.
    pub sent: AtomicU64,
    /// 2xx responses.
    pub ok: AtomicU64,
    /// 4xx responses.
    pub client_errors: AtomicU64,
    /// 5xx responses (the simulated vector-database errors).
    pub server_errors: AtomicU64,
    /// Requests that got no response (connection refused, timeout).
    pub transport_errors: AtomicU64,
    /// Ticks skipped because [`MAX_IN_FLIGHT`] requests were in flight.
    pub skipped: AtomicU64,
    /// Slowest response, in microseconds.
    pub max_latency_us: AtomicU64,
    /// Sum of response times, in microseconds.
    pub total_latency_us: AtomicU64,
}

const WORDS: &[&str] = &[
    "checkpoint",
    "search",
    "flaky",
    "test",
    "timeout",
    "qdrant",
    "embedding",
    "retry",
    "panic",
    "deadlock",
    "migration",
    "index",
    "cache",
    "latency",
    "auth",
    "token",
    "config",
    "docker",
    "build",
    "error",
    "null",
    "pointer",
    "race",
    "condition",
    "memory",
    "leak",
    "regression",
];

fn phrase(n: usize) -> String {
    let mut rng = rand::rng();
    (0..n)
        .map(|_| WORDS[rng.random_range(0..WORDS.len())])
        .collect::<Vec<_>>()
        .join(" ")
}

/// One request of the traffic mix: method is always POST; returns (path, JSON body).
fn pick() -> (String, serde_json::Value) {
    let mut rng = rand::rng();
    let roll = rng.random_range(0..100);
    let tool = |name: &str| format!("/mcp/tools/{name}");
    let text = phrase(rng.random_range(4..12));
    let top_k = rng.random_range(3..8);
    match roll {
        0..15 => (tool("checkpoint_save"), json!({ "text": text })),
        15..35 => (
            tool("checkpoint_search"),
            json!({ "text": text, "top_k": top_k }),
        ),
        35..42 => (tool("checkpoint_list"), json!({})),
        42..50 => (tool("remediation_save"), json!({ "text": text })),
        50..62 => (
            tool("remediation_search"),
            json!({ "text": text, "top_k": top_k }),
        ),
        62..67 => (
            tool("troubleshoot"),
            json!({ "text": text, "top_k": top_k }),
        ),
        67..71 => (tool("list_patterns"), json!({})),
        71..74 => (tool("index_repository"), json!({})),
        74..80 => (tool("status"), json!({})),
        80..86 => ("/v1/skills".to_owned(), json!({ "name": phrase(2) })),
        _ => ("/v1/skills/any/apply".to_owned(), json!({})),
    }
}

/// Sends requests to `base` (e.g. `http://127.0.0.1:PORT`) at `rate` per second until `stop`
/// turns true, then waits (bounded) for the requests in flight. The warm-up saves
/// `careless_note` as a checkpoint (a text holding secrets, as users paste them).
pub async fn run(
    base: String,
    careless_note: String,
    rate: f64,
    stats: Arc<LoadStats>,
    mut stop: watch::Receiver<bool>,
) {
    if rate <= 0.0 {
        return;
    }
    let client = match reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
    {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "load generator: cannot build the HTTP client");
            return;
        }
    };
    let slots = Arc::new(Semaphore::new(MAX_IN_FLIGHT));
    let mut ticker = tokio::time::interval(Duration::from_secs_f64(1.0 / rate));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    // The first requests create some state (skills, checkpoints) so searches have data.
    let warmup = [
        ("/v1/skills", json!({ "name": "restart qdrant" })),
        ("/v1/skills", json!({ "name": "retry flaky test" })),
        (
            "/mcp/tools/checkpoint_save",
            json!({ "text": "fix flaky checkpoint search test" }),
        ),
        (
            "/mcp/tools/remediation_save",
            json!({ "text": "qdrant timeout retry with backoff" }),
        ),
        (
            "/mcp/tools/checkpoint_save",
            json!({ "text": careless_note }),
        ),
    ];
    let mut warmup = warmup.into_iter();
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            _ = stop.changed() => break,
        }
        if *stop.borrow() {
            break;
        }
        let Ok(permit) = Arc::clone(&slots).try_acquire_owned() else {
            stats.skipped.fetch_add(1, Ordering::Relaxed);
            continue;
        };
        let (path, body) = match warmup.next() {
            Some((p, b)) => (p.to_owned(), b),
            None => pick(),
        };
        let (client, stats, url) = (client.clone(), Arc::clone(&stats), format!("{base}{path}"));
        stats.sent.fetch_add(1, Ordering::Relaxed);
        tokio::spawn(async move {
            let started = Instant::now();
            let result = client.post(&url).json(&body).send().await;
            let counter = match &result {
                Ok(r) if r.status().is_success() => &stats.ok,
                Ok(r) if r.status().is_client_error() => &stats.client_errors,
                Ok(_) => &stats.server_errors,
                Err(_) => &stats.transport_errors,
            };
            if let Ok(r) = result {
                let _ = r.bytes().await;
            }
            counter.fetch_add(1, Ordering::Relaxed);
            let us = started.elapsed().as_micros() as u64;
            stats.total_latency_us.fetch_add(us, Ordering::Relaxed);
            stats.max_latency_us.fetch_max(us, Ordering::Relaxed);
            drop(permit);
        });
    }
    // Wait for the requests in flight (every slot free again), at most 10 s.
    let all = u32::try_from(MAX_IN_FLIGHT).unwrap_or(u32::MAX);
    let _ = tokio::time::timeout(Duration::from_secs(10), slots.acquire_many(all)).await;
}
