//! The retry policy every exporter of ours shares, the stock `opentelemetry-otlp` one: at most 3
//! retries, exponential backoff from 100 ms to 1.6 s with up to 100 ms of jitter, all within the
//! export timeout; a server's own delay (HTTP `Retry-After`) is honoured when it gives one.

use std::future::Future;
use std::time::{Duration, Instant};

use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};

const MAX_RETRIES: u32 = 3;
const INITIAL_DELAY: Duration = Duration::from_millis(100);
const MAX_DELAY: Duration = Duration::from_millis(1600);
const MAX_JITTER_MS: u64 = 100;
/// A server-given delay beyond this is not waited for (the export timeout bounds it anyway).
pub(crate) const MAX_SERVER_DELAY: Duration = Duration::from_secs(60);

/// Why an attempt failed, and whether (and when) to try again.
pub(crate) enum Attempt {
    /// Transient: try again, after the server's delay if it gave one.
    Retry(Option<Duration>, String),
    /// Permanent: report `message` now.
    Final(String),
}

/// Runs `attempt` until it succeeds, fails for good, or the retries or `timeout` run out; the
/// error carries the last attempt's message.
pub(crate) async fn with_retries<F, Fut>(timeout: Duration, mut attempt: F) -> OTelSdkResult
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<(), Attempt>>,
{
    let deadline = Instant::now() + timeout;
    let mut retries = 0;
    loop {
        let (after, message) = match attempt().await {
            Ok(()) => return Ok(()),
            Err(Attempt::Final(message)) => return Err(OTelSdkError::InternalFailure(message)),
            Err(Attempt::Retry(after, message)) => (after, message),
        };
        let delay = after.unwrap_or_else(|| backoff(retries));
        if retries >= MAX_RETRIES || Instant::now() + delay >= deadline {
            return Err(OTelSdkError::InternalFailure(message));
        }
        // The batch worker and the periodic reader poll exports on threads of their own (also
        // when the future runs inside our runtime's context): sleeping blocks only this export.
        std::thread::sleep(delay);
        retries += 1;
    }
}

/// The delay before retry `n` (0-based): exponential from [`INITIAL_DELAY`], capped, plus jitter.
fn backoff(n: u32) -> Duration {
    let base = INITIAL_DELAY.saturating_mul(1 << n.min(16)).min(MAX_DELAY);
    base + Duration::from_millis(rand::random::<u64>() % (MAX_JITTER_MS + 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_to_its_cap() {
        for n in 0..20 {
            let d = backoff(n);
            let base = INITIAL_DELAY * 2u32.pow(n.min(4));
            assert!(d >= base.min(MAX_DELAY), "{n}: {d:?}");
            assert!(
                d <= MAX_DELAY + Duration::from_millis(MAX_JITTER_MS),
                "{n}: {d:?}"
            );
        }
    }

    #[test]
    fn gives_up_when_the_timeout_would_pass() {
        let mut calls = 0;
        let result = futures_executor::block_on(with_retries(Duration::from_millis(50), || {
            calls += 1;
            async { Err(Attempt::Retry(None, "busy".into())) }
        }));
        assert_eq!(calls, 1, "a 100 ms backoff does not fit in 50 ms");
        assert!(format!("{result:?}").contains("busy"), "{result:?}");
    }
}
