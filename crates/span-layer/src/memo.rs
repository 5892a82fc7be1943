//! A per-thread memo of a layer's `Targets` decision per callsite.
//!
//! `Targets::would_enable` walks every directive with a prefix comparison (a few hundred
//! instructions with the exporters' crates turned off), on every span and event. Callsite
//! metadata is `'static`, so its address identifies the callsite; the decision of one layer for
//! one callsite never changes. A small direct-mapped table per thread makes the repeat cost a
//! few instructions; a collision only means recomputing.

use std::cell::Cell;

use tracing_core::Metadata;
use tracing_subscriber::filter::Targets;

const SLOTS: usize = 64;

type Entry = Cell<(usize, u64, bool)>;

thread_local! {
    static MEMO: [Entry; SLOTS] = const { [const { Cell::new((0, 0, false)) }; SLOTS] };
}

/// `targets.would_enable(..)` for `meta`, memoized per (`layer`, callsite) on this thread.
pub(crate) fn would_enable(
    layer: u64,
    targets: &Targets,
    meta: &'static Metadata<'static>,
) -> bool {
    let key = std::ptr::from_ref(meta) as usize;
    let compute = || targets.would_enable(meta.target(), meta.level());
    MEMO.try_with(|memo| {
        // Metadata is at least 8-byte aligned: drop the low bits before indexing.
        let slot = &memo[(key >> 3) % SLOTS];
        let (cached_key, cached_layer, enabled) = slot.get();
        if cached_key == key && cached_layer == layer {
            return enabled;
        }
        let enabled = compute();
        slot.set((key, layer, enabled));
        enabled
    })
    // Thread-local storage already torn down (a span at thread exit): compute directly.
    .unwrap_or_else(|_| compute())
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
    fn decisions_are_per_layer_and_per_callsite() {
        let info: Targets = "info".parse().expect("targets");
        let quiet: Targets = "info,noisy=off".parse().expect("targets");
        let plain = metadata_of(|| tracing::info_span!("plain"));
        let noisy = metadata_of(|| tracing::info_span!(target: "noisy", "noisy"));
        let debug = metadata_of(|| tracing::debug_span!("debug"));
        for _ in 0..3 {
            assert!(would_enable(1, &info, plain));
            assert!(would_enable(1, &info, noisy));
            assert!(!would_enable(1, &info, debug));
            assert!(would_enable(2, &quiet, plain));
            assert!(
                !would_enable(2, &quiet, noisy),
                "layer 2 has its own decision"
            );
        }
    }
}
