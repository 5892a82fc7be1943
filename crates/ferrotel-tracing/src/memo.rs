//! [`CallsiteTargets`]: a `Targets` filter with a per-thread memo of its decision per callsite.
//!
//! `Targets::would_enable` walks every directive with a prefix comparison (a few hundred
//! instructions with the exporters' crates turned off), on every span and event. Callsite
//! metadata is `'static`, so its address identifies the callsite, and one filter's decision for
//! one callsite never changes. A small direct-mapped table per thread makes the repeat cost a
//! few instructions; a collision only means recomputing.

use std::cell::Cell;
use std::sync::atomic::{AtomicU64, Ordering};

use tracing_core::Metadata;
use tracing_subscriber::filter::Targets;

const SLOTS: usize = 64;

type Entry = Cell<(usize, u64, bool)>;

thread_local! {
    static MEMO: [Entry; SLOTS] = const { [const { Cell::new((0, 0, false)) }; SLOTS] };
}

/// A [`Targets`] filter checked by a layer itself (not as a per-layer filter), memoizing its
/// decision per callsite on each thread.
///
/// ```
/// let targets: tracing_subscriber::filter::Targets = "info,hyper=off".parse().unwrap();
/// let filter = ferrotel_tracing::CallsiteTargets::new(targets);
/// tracing::subscriber::with_default(tracing_subscriber::registry(), || {
///     let span = tracing::debug_span!("detail");
///     let meta = span.metadata().expect("enabled under a registry");
///     assert!(!filter.enabled(meta));
/// });
/// ```
#[derive(Debug, Clone)]
pub struct CallsiteTargets {
    targets: Targets,
    /// Tells this filter's memo entries from other filters'.
    id: u64,
}

impl CallsiteTargets {
    /// Wraps `targets`.
    pub fn new(targets: Targets) -> Self {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        Self {
            targets,
            id: NEXT.fetch_add(1, Ordering::Relaxed),
        }
    }

    /// Whether the filter enables the callsite `meta` (a span's or an event's metadata).
    pub fn enabled(&self, meta: &'static Metadata<'static>) -> bool {
        let key = std::ptr::from_ref(meta) as usize;
        let compute = || self.targets.would_enable(meta.target(), meta.level());
        MEMO.try_with(|memo| {
            // Metadata is at least 8-byte aligned: drop the low bits before indexing. The
            // filter's id moves its slot, so two filters checking the same callsite in turn
            // (the span layer and the log bridge, on every event) do not evict each other.
            let slot = &memo[((key >> 3) ^ (self.id as usize).wrapping_mul(0x9E37)) % SLOTS];
            let (cached_key, cached_id, enabled) = slot.get();
            if cached_key == key && cached_id == self.id {
                return enabled;
            }
            let enabled = compute();
            slot.set((key, self.id, enabled));
            enabled
        })
        // Thread-local storage already torn down (a span at thread exit): compute directly.
        .unwrap_or_else(|_| compute())
    }

    /// The wrapped filter.
    pub fn targets(&self) -> &Targets {
        &self.targets
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn metadata_of(make: fn() -> tracing::Span) -> &'static Metadata<'static> {
        tracing::subscriber::with_default(tracing_subscriber::registry(), || {
            make().metadata().expect("enabled under a registry")
        })
    }

    #[test]
    fn decisions_are_per_filter_and_per_callsite() {
        let info = CallsiteTargets::new("info".parse().expect("targets"));
        let quiet = CallsiteTargets::new("info,noisy=off".parse().expect("targets"));
        let plain = metadata_of(|| tracing::info_span!("plain"));
        let noisy = metadata_of(|| tracing::info_span!(target: "noisy", "noisy"));
        let debug = metadata_of(|| tracing::debug_span!("debug"));
        for _ in 0..3 {
            assert!(info.enabled(plain));
            assert!(info.enabled(noisy));
            assert!(!info.enabled(debug));
            assert!(quiet.enabled(plain));
            assert!(!quiet.enabled(noisy), "each filter has its own decision");
        }
    }

    #[test]
    fn two_filters_on_one_callsite_keep_their_own_slots() {
        let a = CallsiteTargets::new("info".parse().expect("targets"));
        let b = CallsiteTargets::new("info".parse().expect("targets"));
        let meta = metadata_of(|| tracing::info_span!("shared"));
        let (a_enabled, b_enabled) = (a.enabled(meta), b.enabled(meta));
        let key = std::ptr::from_ref(meta) as usize;
        MEMO.with(|memo| {
            let cached = |id: u64| memo.iter().any(|slot| slot.get() == (key, id, true));
            assert!(a_enabled && b_enabled);
            assert!(
                cached(a.id) && cached(b.id),
                "both decisions are remembered"
            );
        });
    }
}
